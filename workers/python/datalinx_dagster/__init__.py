"""Datalinx Dagster code location (the Python side of the data plane).

The definitions live in ``datalinx_dagster.definitions`` (``defs``); workspace.yaml beside this
package points the Dagster webserver and CLI at it.
"""
