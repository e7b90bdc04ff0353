package dev.phiedge.agent.config;

import java.nio.file.Path;

/**
 * One thing wrong with a configuration file, located so that a person can go straight to it.
 *
 * @param file    the configuration file
 * @param line    1-based line, or 0 when the problem has no place in the file (e.g. the file is missing)
 * @param key     the dotted key the problem is about, e.g. {@code routes[1].queue.policy}, or "" for the file
 * @param message what is wrong, in words
 */
public record ConfigProblem(Path file, int line, String key, String message) {

    @Override
    public String toString() {
        String where = line > 0 ? file + ":" + line : file.toString();
        return key.isEmpty() ? where + ": " + message : where + ": " + key + ": " + message;
    }
}
