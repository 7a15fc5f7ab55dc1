"""MkDocs hooks of the documentation site (mkdocs.yml `hooks:`); not pages of the site."""
