"""Fakes and fixtures the tests share: a scripted model server, workspaces, browser drivers."""
