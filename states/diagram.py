"""The lifecycle as a Mermaid state diagram, with the Chinese labels of the rules. An internal transition
(the state is kept) is drawn as a loop on each of its states, marked `(internal)`."""

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
            internal = " (internal)" if t.internal else ""
            for source in t.sources:
                lines.append(f"    {source} --> {t.dest_from(source)}: {event.label} {event.name}{internal}{guard}")
    for name in spec.final_states:
        lines.append(f"    {name} --> [*]")
    return "\n".join(lines) + "\n"
