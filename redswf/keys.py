"""Every Redis key name of redswf, built in one place.

All keys of one domain share the hash tag ``{<region>/<escaped domain name>}``, so every
transition touches a single Redis Cluster slot. The registry of domain names, which spans
domains, lives under the separate tag ``{registry}``. ``docs/keys.md`` documents each key.
"""

from __future__ import annotations

from dataclasses import dataclass

_TAG_ESCAPES = str.maketrans({"%": "%25", "{": "%7B", "}": "%7D"})


def escape_tag(text: str) -> str:
    """Escape ``%``, ``{`` and ``}`` so that a name cannot end or move the hash tag."""
    return text.translate(_TAG_ESCAPES)


def domain_prefix(region: str, domain: str) -> str:
    """Return ``swf:{<region>/<domain>}``, the prefix of every key of that domain.

    Domain names cannot contain ``/``, so the region and the name never run together.
    """
    return f"swf:{{{escape_tag(region)}/{escape_tag(domain)}}}"


def registry_key(region: str) -> str:
    """Return the hash of domain name to registration status for one region."""
    return f"swf:{{registry}}:domains:{region}"


@dataclass(frozen=True, slots=True)
class DomainKeys:
    """Names of one domain's keys; the Lua scripts build the same names from ``prefix``."""

    prefix: str

    @property
    def domain(self) -> str:
        return f"{self.prefix}:domain"

    def types(self, kind: str) -> str:
        return f"{self.prefix}:{kind}types"

    def type(self, kind: str, name: str, version: str) -> str:
        return f"{self.prefix}:{kind}type:{name}:{version}"

    def run(self, run_id: str) -> str:
        return f"{self.prefix}:run:{run_id}"

    def history(self, run_id: str) -> str:
        return f"{self.prefix}:hist:{run_id}"

    @property
    def open_runs(self) -> str:
        return f"{self.prefix}:open"

    @property
    def tags(self) -> str:
        return f"{self.prefix}:tags"

    def visibility(self, index: str, filter_part: str = "") -> str:
        """Return a visibility index: ``index`` is ``open``, ``closed:start`` or
        ``closed:close``, and ``filter_part`` is empty or ``:<filter>:<value>``."""
        return f"{self.prefix}:vis:{index}{filter_part}"

    def activity_queue(self, task_list: str) -> str:
        return f"{self.prefix}:atl:{task_list}"

    def decision_queue(self, task_list: str) -> str:
        return f"{self.prefix}:dtl:{task_list}"

    @property
    def wake_channel(self) -> str:
        return f"{self.prefix}:wake"


def for_domain(region: str, domain: str) -> DomainKeys:
    return DomainKeys(domain_prefix(region, domain))
