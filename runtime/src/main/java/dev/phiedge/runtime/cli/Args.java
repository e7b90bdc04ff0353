package dev.phiedge.runtime.cli;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small command-line option parser: {@code --name value}, {@code --name=value} and boolean
 * {@code --flag}. Unknown options and missing values are errors with a clear message.
 */
final class Args {
    private final Map<String, String> values = new HashMap<>();
    private final Set<String> flags = new HashSet<>();

    /**
     * @param valued  option names that take a value
     * @param boolean option names that do not
     */
    Args(String[] argv, int start, List<String> valued, List<String> booleans) {
        for (int i = start; i < argv.length; i++) {
            String a = argv[i];
            if (!a.startsWith("--")) throw new UsageException("unexpected argument '" + a + "'");
            String name = a.substring(2);
            String inline = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                inline = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (booleans.contains(name) && inline == null) {
                flags.add(name);
            } else if (valued.contains(name)) {
                if (inline == null) {
                    if (i + 1 >= argv.length) throw new UsageException("option --" + name + " needs a value");
                    inline = argv[++i];
                }
                values.put(name, inline);
            } else {
                throw new UsageException("unknown option --" + name);
            }
        }
    }

    boolean flag(String name) { return flags.contains(name); }

    boolean has(String name) { return values.containsKey(name); }

    String string(String name) {
        String v = values.get(name);
        if (v == null) throw new UsageException("option --" + name + " is required");
        return v;
    }

    String string(String name, String fallback) { return values.getOrDefault(name, fallback); }

    int integer(String name, int fallback) {
        if (!has(name)) return fallback;
        try {
            return Integer.parseInt(values.get(name));
        } catch (NumberFormatException e) {
            throw new UsageException("option --" + name + " needs a whole number, got '" + values.get(name) + "'");
        }
    }

    long longValue(String name, long fallback) {
        if (!has(name)) return fallback;
        try {
            return Long.parseLong(values.get(name));
        } catch (NumberFormatException e) {
            throw new UsageException("option --" + name + " needs a whole number, got '" + values.get(name) + "'");
        }
    }

    float number(String name, float fallback) {
        if (!has(name)) return fallback;
        try {
            return Float.parseFloat(values.get(name));
        } catch (NumberFormatException e) {
            throw new UsageException("option --" + name + " needs a number, got '" + values.get(name) + "'");
        }
    }

    /** A command-line mistake: printed with the usage, exit status 2. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) { super(message); }
    }
}
