"""Ansible's ``linear`` strategy run over Mitogen (``strategy = mitogen_linear``).

Mitogen keeps one Python interpreter per host for the whole run and sends each module to it,
instead of starting Python and unpacking the module's zip for every task. On the sandbox a
module call drops from about 0.5 s to about 0.1 s, and a no-change run of site.yml from
288 s to 114 s (docs/platform.md). Every play behaves as under ``linear``.

Mitogen is in requirements.txt. To run without it: ``ANSIBLE_STRATEGY=linear``.
"""

from __future__ import annotations

try:
    import ansible_mitogen.loaders
    import ansible_mitogen.strategy
except ImportError as missing:
    from ansible.errors import AnsibleError

    raise AnsibleError(
        "the strategy mitogen_linear needs the Python package mitogen, which is not "
        "installed: run `pip install -r requirements.txt` (or run without it: "
        "ANSIBLE_STRATEGY=linear)"
    ) from missing

_Linear = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, _Linear):
    """The linear strategy, with Mitogen's connections and module runner."""
