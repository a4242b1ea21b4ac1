"""The preview: a local web server showing what recipients will get, reloading on save."""
