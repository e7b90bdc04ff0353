package dev.phiedge.agent.template;

/**
 * An event lacks what a template asks for (a payload path without a default, or a topic level). The
 * event is rejected and reported on the errors topic; the agent keeps running.
 */
public final class MissingFieldException extends TemplateRenderException {

    public MissingFieldException(String field, String message) {
        super(Kind.MISSING_FIELD, field, message);
    }
}
