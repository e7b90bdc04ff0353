package dev.phiedge.agent.template;

/**
 * An event lacks what a template asks for (a payload path or a topic level). The event is rejected and
 * reported on the errors topic; the agent keeps running.
 */
public final class MissingFieldException extends Exception {
    private final String field;

    public MissingFieldException(String field, String message) {
        super(message);
        this.field = field;
    }

    /** The placeholder as written between the braces. */
    public String field() {
        return field;
    }
}
