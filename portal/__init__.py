"""The people's pages across the apps: each person's home queue, the environments board, the
helpers every page uses (portal/pages.py) and the presenters that turn stored figures and
documents into what a page shows (portal/presenters/)."""
