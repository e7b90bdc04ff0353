package dev.phiedge.agent.config;

import java.nio.file.Path;

/**
 * The model the agent loads: the configuration file's {@code model} section. Not to be confused with the
 * runtime's {@code dev.phiedge.runtime.model.ModelConfig}, the model's own hyperparameters read from the
 * GGUF metadata.
 *
 * @param path    the GGUF file (resolved against the configuration file's folder)
 * @param context the context length in tokens; a prompt longer than this is rejected
 * @param threads the number of threads the runtime uses for inference
 */
public record ModelSettings(Path path, int context, int threads) {
    public static final int DEFAULT_CONTEXT = 2048;
}
