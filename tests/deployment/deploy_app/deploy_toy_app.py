"""The toy federation as a Flower App; the ServerApp writes ``outcome-<run id>.json``.

The deployment runtime runs the ServerApp in its own process, so its ``context.state`` cannot
be read from the test: the outcome (and the global model) go to the run's ``out-dir``. The
ClientApp follows the run config's ``secure`` (SecAgg+ or plain FedAvg), so one SuperNode
serves both kinds of run. Its SecAgg+ path runs the kit's production mods, so a member whose
node config has ``member-key`` and ``member-keys`` binds its keys and checks the others'.
"""

from __future__ import annotations

import json
from pathlib import Path

from flwr.app import Context, Message
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp

from consortium.federation.mods import make_update_guard_mod, masked_updates_mod
from consortium.federation.toy import make_toy_client_app, make_toy_server_app

_toy = make_toy_server_app()
_secure_client = make_toy_client_app(  # the kit's production mods: key binding when configured
    secure=True, mods=[masked_updates_mod, make_update_guard_mod()]
)
_plain_client = make_toy_client_app(secure=False)
server = ServerApp()


class _ToyClientByRunConfig(ClientApp):
    def __call__(self, message: Message, context: Context) -> Message:
        secure = bool(context.run_config.get("secure", True))
        return (_secure_client if secure else _plain_client)(message, context)


client = _ToyClientByRunConfig()


@server.main()
def main(grid: Grid, context: Context) -> None:
    nodes = sorted(grid.get_node_ids())
    _toy(grid, context)
    out = str(context.run_config.get("out-dir", ""))
    if not out:
        return
    outcome = dict(context.state.config_records["toy.outcome"])
    arrays = context.state.array_records["toy.global"].to_numpy_ndarrays()
    outcome["nodes"] = [str(n) for n in nodes]
    outcome["global"] = [a.ravel().tolist() for a in arrays]
    Path(out).mkdir(parents=True, exist_ok=True)
    Path(out, f"outcome-{context.run_id}.json").write_text(json.dumps(outcome))
