"""Lua scripts of redswf, shipped as package data (one state transition per file)."""
