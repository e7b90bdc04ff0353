package dev.phiedge.runtime.cli;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * One {@code phi3} command as its {@code --help} shows it and as {@link Args} parses it: the options are
 * declared once, here, so the help and the parser cannot disagree.
 *
 * @param name        the command's name
 * @param synopsis    what follows {@code phi3 NAME} in the usage line
 * @param summary     one line for the overview
 * @param description what the command does and prints, a few lines
 * @param options     every option, in the order the help lists them
 */
record CommandSpec(String name, String synopsis, String summary, String description, List<Option> options) {

    /**
     * {@code --name ARG} (or the flag {@code --name} when {@code arg} is null) and what it is; the
     * description states the default that applies when the option is left out.
     */
    record Option(String name, String arg, String description) {
        boolean takesValue() {
            return arg != null;
        }

        String synopsis() {
            return arg == null ? "--" + name : "--" + name + " " + arg;
        }
    }

    static Option valued(String name, String arg, String description) {
        return new Option(name, arg, description);
    }

    static Option flag(String name, String description) {
        return new Option(name, null, description);
    }

    Optional<Option> option(String name) {
        return options.stream().filter(o -> o.name().equals(name)).findFirst();
    }

    List<String> valued() {
        return options.stream().filter(Option::takesValue).map(Option::name).toList();
    }

    List<String> flags() {
        return options.stream().filter(o -> !o.takesValue()).map(Option::name).toList();
    }

    /** Parses {@code argv} from {@code start} with this command's options. */
    Args parse(String[] argv, int start) {
        return new Args(argv, start, valued(), flags());
    }

    /**
     * Whether {@code --help} or {@code -h} stands where an option may (not as an option's value) in
     * {@code argv} from {@code start}.
     */
    boolean asksForHelp(String[] argv, int start) {
        for (int i = start; i < argv.length; i++) {
            if (argv[i].equals("--help") || argv[i].equals("-h")) {
                return true;
            }
            if (argv[i].startsWith("--") && !argv[i].contains("=") && option(argv[i].substring(2)).map(Option::takesValue).orElse(false)) {
                i++;
            }
        }
        return false;
    }

    String help() {
        StringBuilder b = new StringBuilder("usage: phi3 " + name + " " + synopsis + "\n\n" + wrap(description, 0, 0)
                + "\n\noptions:\n");
        for (Option o : options) {
            b.append(row(o.synopsis(), o.description()));
        }
        b.append(row("-h, --help", "this help"));
        return b + "exit status: 0 success, 1 a failure (a bad model file, a prompt too long), 2 a command-line mistake\n";
    }

    /** {@code   --name ARG          description}, the description wrapped under itself. */
    static String row(String left, String text) {
        String head = String.format(Locale.ROOT, "  %-20s ", left);
        return head + wrap(text, head.length(), 23) + "\n";
    }

    /**
     * {@code text} on lines of at most 100 columns, the first starting at {@code column}, the next ones indented
     * by {@code indent}; "(default: X)" stays on one line.
     */
    static String wrap(String text, int column, int indent) {
        StringBuilder b = new StringBuilder();
        String[] words = text.strip().replace("(default: ", "(default:\0").split("\\s+");
        int at = column;
        for (String word : words) {
            word = word.replace('\0', ' ');
            boolean first = at == column && b.isEmpty();
            if (!first && at + 1 + word.length() > 100) {
                b.append('\n').append(" ".repeat(indent));
                at = indent;
            } else if (!first) {
                b.append(' ');
                at++;
            }
            b.append(word);
            at += word.length();
        }
        return b.toString();
    }
}
