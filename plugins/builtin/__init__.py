"""Built-in plugins shipped with Anju, written against the same hooks as third-party ones."""
