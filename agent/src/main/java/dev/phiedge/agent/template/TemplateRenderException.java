package dev.phiedge.agent.template;

/**
 * An event cannot be rendered into a template: the event is refused (reported on the errors topic with
 * the reason of the same name, {@code RejectReason.valueOf(kind().name())}) and the agent keeps running.
 */
public class TemplateRenderException extends Exception {

    /** Why the event could not be rendered; each constant has a {@code RejectReason} of the same name. */
    public enum Kind {
        /** The payload lacks a field the template names (and the placeholder has no default), or the
         *  topic has too few levels. */
        MISSING_FIELD,
        /** A number whose text would exceed {@link PromptTemplate#MAX_NUMBER_CHARS} characters. */
        BAD_NUMBER,
        /** A field's text is longer than the per-field limit ({@link TemplateInput#maxFieldChars()}). */
        FIELD_TOO_LONG,
        /** A typed placeholder ({@code {x:number}}, {@code {x:int}}, ...) found a value of another type. */
        WRONG_TYPE
    }

    private final Kind kind;
    private final String field;

    public TemplateRenderException(Kind kind, String field, String message) {
        super(message);
        this.kind = kind;
        this.field = field;
    }

    public Kind kind() {
        return kind;
    }

    /** The placeholder as written between the braces. */
    public String field() {
        return field;
    }
}
