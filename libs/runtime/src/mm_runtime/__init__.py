"""How a process lives on the bus: settings, lifecycle, health, metrics, logging and tracing."""
