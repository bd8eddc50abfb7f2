"""Exchange formats of the catalog (第八条, 第二十五条): the department catalog spreadsheet (template, import, export),
the county catalog (分目录) export for the city (XLSX and JSON), and the DCAT JSON-LD feed of open resources.

Modules: `columns` (the §7 layout), `vocab` (coded values), `records` (a version as natural-key record),
`xlsx_write` / `xlsx_read` (files), `parse` (rows → records with errors), `importer` (the import service),
`export` (export services), `dcat` (the feed), `permissions`.
"""
