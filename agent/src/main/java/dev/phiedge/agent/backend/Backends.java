package dev.phiedge.agent.backend;

import dev.phiedge.agent.config.ModelSettings;

/** Creates the inference backend for a configured model. */
public final class Backends {
    private Backends() {}

    /** Maps the configured GGUF model with the Phi-3 runtime. */
    public static InferenceBackend create(ModelSettings model) {
        try {
            return RuntimeBackend.load(model.path(), model.context(), model.threads());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot read " + model.path() + ": " + e.getMessage(), e);
        }
    }
}
