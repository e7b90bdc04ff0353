package dev.phiedge.agent.pipeline;

import dev.phiedge.agent.config.ModelConfig;

/** Creates the inference backend for a configured model. */
public final class Backends {
    private Backends() {}

    /** Loads the model; the runtime-backed implementation is wired here. */
    public static InferenceBackend create(ModelConfig model) {
        throw new UnsupportedOperationException("runtime backend not wired yet");
    }
}
