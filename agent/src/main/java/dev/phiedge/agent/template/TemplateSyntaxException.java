package dev.phiedge.agent.template;

/** A template that cannot be parsed; configuration validation turns it into a problem with a line. */
public final class TemplateSyntaxException extends Exception {
    public TemplateSyntaxException(String message) {
        super(message);
    }
}
