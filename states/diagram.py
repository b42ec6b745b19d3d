"""The lifecycle as a Mermaid state diagram, with the Chinese labels of the rules."""

from __future__ import annotations

from states.spec import LifecycleSpec


def mermaid(spec: LifecycleSpec) -> str:
    lines = ["stateDiagram-v2"]
    for name, state in spec.states.items():
        lines.append(f'    state "{state.label}<br/>{name}" as {name}')
    lines.append(f"    [*] --> {spec.initial}")
    for event in spec.events.values():
        for t in event.transitions:
            guard = f" [{', '.join(t.guards)}]" if t.guards else ""
            for source in t.sources:
                lines.append(f"    {source} --> {t.dest}: {event.label} {event.name}{guard}")
    for name in spec.final_states:
        lines.append(f"    {name} --> [*]")
    return "\n".join(lines) + "\n"
