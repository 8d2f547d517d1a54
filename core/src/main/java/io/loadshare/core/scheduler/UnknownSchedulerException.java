package io.loadshare.core.scheduler;

import java.util.List;

/** Thrown for a scheduler name that no plugin provides; the message lists the names that exist. */
public final class UnknownSchedulerException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final transient List<String> available;

    public UnknownSchedulerException(String name, List<String> available) {
        super("unknown scheduler '" + name + "'; available: "
                + (available.isEmpty() ? "none (no SchedulerFactory on the class path)" : String.join(", ", available)));
        this.available = List.copyOf(available);
    }

    /** The names (and aliases) that would have been accepted. */
    public List<String> available() {
        return available;
    }
}
