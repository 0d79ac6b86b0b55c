"""Stack config, parsed and validated once into the frozen dataclasses of
`model.py`; every other module reads those."""

from components.settings.checks import default_checks
from components.settings.cluster import default_cluster_name
from components.settings.parse import load_settings, parse_settings
from components.settings.problems import SettingsError

__all__ = ["SettingsError", "default_checks", "default_cluster_name", "load_settings", "parse_settings"]
