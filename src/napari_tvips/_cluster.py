"""The active ``dask.distributed`` client, if the user has one.

Full passes (virtual images, ``.zspy`` export) run their blocks on a cluster when the user has
started a ``dask.distributed`` client, the way users scale past one machine. This module only
finds that client; it never starts one and never imports ``distributed`` when the user has not.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["active_client"]


def active_client(client: Any = None) -> Any:
    """The client to run on: ``client``, else the active one, else ``None``.

    Parameters
    ----------
    client : distributed.Client, False or None
        An explicit client; ``False`` runs locally even when a client is active.

    Returns
    -------
    distributed.Client or None
    """
    if client is False:
        return None
    if client is not None:
        return client
    if "distributed" not in sys.modules:  # a client exists only once distributed is imported
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None
