"""renfang's pages: server-rendered, login required, every read through the selectors."""
