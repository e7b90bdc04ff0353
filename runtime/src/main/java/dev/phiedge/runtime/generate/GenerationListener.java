package dev.phiedge.runtime.generate;

/** Streaming callbacks of a generation; both run on the generating thread and must be quick. */
public interface GenerationListener {

    /** The logits after the last prompt token, before any sampling touches them. */
    default void onPromptLogits(float[] logits) { }

    /** A token was chosen; {@code text} holds the characters it completed (may be empty). */
    default void onToken(int token, String text) { }

    GenerationListener NONE = new GenerationListener() { };
}
