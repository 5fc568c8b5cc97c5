"""mkdocs hook: the notebooks in ``notebooks/`` become site pages, with no copy or symlink.

mkdocs only collects files inside ``docs_dir``; this adds ``notebooks/*.ipynb`` from the
project root as if they were there, before mkdocs-jupyter turns ``.ipynb`` files into pages.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files


@event_priority(100)  # before mkdocs-jupyter's on_files (priority 0)
def on_files(files: Files, config: MkDocsConfig) -> Files:
    root = Path(config.config_file_path).parent
    for notebook in sorted((root / "notebooks").glob("*.ipynb")):
        files.append(
            File(
                f"notebooks/{notebook.name}",
                src_dir=str(root),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    return files
