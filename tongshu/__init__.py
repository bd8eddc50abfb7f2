"""通数 Tongshu: a county's government information resource platform."""
