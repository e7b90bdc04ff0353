package dev.phiedge.agent.config;

import java.nio.file.Path;

/**
 * The model the agent loads.
 *
 * @param path    the GGUF file (resolved against the configuration file's folder)
 * @param context the context length in tokens; a prompt longer than this is rejected
 * @param threads the number of threads the runtime uses for inference
 */
public record ModelConfig(Path path, int context, int threads) {
    public static final int DEFAULT_CONTEXT = 2048;
}
