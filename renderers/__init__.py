"""Routes built from the catalog: the JSON API and OpenAPI now, HTML screens and exports later."""
