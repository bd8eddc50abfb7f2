"""Use cases of the standards app (第九条, 第八条), by concept: code sets, data elements, the category tree.

Every function that changes state takes the acting user first, checks that the user may manage standards (the
platform operator), validates the whole input, changes state in one transaction and writes the audit entry.
The lookups validation and the data plane use (`code_values`, `division_codes`, `is_known_division`) are re-exported
from `standards.lookups`.
"""

from ..lookups import code_values, division_codes, invalidate, is_known_division, township_codes
from .categories import (
    BranchResult,
    category_tree,
    export_categories,
    import_categories,
    parse_categories,
    sync_department_branch,
)
from .codesets import (
    VersionDiff,
    code_sets_overview,
    default_diff_pair,
    diff_versions,
    get_code_set,
    get_version,
    import_code_set,
    parse_values,
    require_manager,
    search_values,
    set_current_version,
    version_name,
    versions_overview,
)
from .elements import (
    create_data_element,
    delete_data_element,
    get_data_element,
    next_identifier,
    search_data_elements,
    set_data_element_active,
    update_data_element,
    validate_element,
)

__all__ = [
    "BranchResult",
    "VersionDiff",
    "category_tree",
    "code_sets_overview",
    "code_values",
    "create_data_element",
    "delete_data_element",
    "default_diff_pair",
    "diff_versions",
    "division_codes",
    "export_categories",
    "get_code_set",
    "get_data_element",
    "get_version",
    "import_categories",
    "import_code_set",
    "invalidate",
    "is_known_division",
    "next_identifier",
    "parse_categories",
    "parse_values",
    "require_manager",
    "search_data_elements",
    "search_values",
    "set_current_version",
    "set_data_element_active",
    "sync_department_branch",
    "township_codes",
    "update_data_element",
    "validate_element",
    "version_name",
    "versions_overview",
]
