package dev.phiedge.agent.modelstore;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * {@code edge-agent model list} and {@code edge-agent model pull NAME|URL [options]}: the catalogue, and
 * fetching a model into the models folder with its checksum, resuming, and switching {@code current.gguf}
 * ({@link ModelPull}). Exit status 0 done, 1 the pull failed (the reason is printed), 2 wrong usage.
 */
public final class ModelCommand {
    /** The packaged models folder (the unit's StateDirectory, /var/lib/edge-agent, + models). */
    public static final Path PACKAGE_MODELS = Path.of("/var/lib/edge-agent/models");
    static final long DEFAULT_MIN_FREE = 100_000_000L;
    static final int DEFAULT_RETRIES = 3;

    static final String HELP = """
            usage: edge-agent model list
                   edge-agent model pull NAME|URL [--sha256 HEX] [--no-sha256] [--dir DIR] [--min-free SIZE] [--retries N]

            list: the catalogue of models that pull knows by name, with size and checksum.
            pull: downloads a catalogue model, or any http(s) URL of a .gguf file, into the models folder as FILE.partial
            (a later run, or a retry after a cut connection, resumes it with an HTTP Range request), checks its SHA-256
            (--sha256, else the catalogue's pin, else the server's X-Linked-Etag as Hugging Face sends it), opens it with
            the runtime, and only then points current.gguf at it. The previous model file stays. HTTPS_PROXY, HTTP_PROXY
            and NO_PROXY are honoured. Restart the agent afterwards: sudo systemctl restart edge-agent.

            options:
              --sha256 HEX     the file's expected SHA-256 (64 hex digits); wins over the catalogue's and the server's
              --no-sha256      use a file whose SHA-256 cannot be known (no pin, no --sha256, no X-Linked-Etag): not advised
              --dir DIR        the models folder (default: $STATE_DIRECTORY/models under systemd, else
                               /var/lib/edge-agent/models where the package made it)
              --min-free SIZE  space that must stay free on the folder's disk after the download, e.g. 500M or 1G
                               (default: 100M)
              --retries N      how often a cut or failed transfer is resumed before giving up (default: 3)
              -h, --help       this help
            exit status: 0 the model is current, 1 the pull failed (the reason is printed; a part stays for the next run),
            2 wrong usage
            """;

    private ModelCommand() {}

    /** {@code args[0]} is "model". */
    public static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err, boolean terminal) {
        if (args.length < 2 || args[1].equals("--help") || args[1].equals("-h") || args[1].equals("help")) {
            if (args.length < 2) {
                err.println("edge-agent: missing model command: list or pull (see edge-agent model --help)");
                return 2;
            }
            out.print(HELP);
            return 0;
        }
        for (String a : args) {
            if (a.equals("--help") || a.equals("-h")) {
                out.print(HELP);
                return 0;
            }
        }
        return switch (args[1]) {
            case "list" -> {
                if (args.length > 2) yield usage(err, "model list takes no arguments");
                list(out);
                yield 0;
            }
            case "pull" -> pull(args, env, out, err, terminal);
            default -> usage(err, "unknown model command '" + args[1] + "': list or pull");
        };
    }

    private static int usage(PrintStream err, String problem) {
        err.println("edge-agent: " + problem + " (see edge-agent model --help)");
        return 2;
    }

    static void list(PrintStream out) {
        out.printf(Locale.ROOT, "%-20s %-10s %-10s %s%n", "NAME", "SIZE", "SHA-256", "MODEL");
        for (ModelCatalog.Entry e : ModelCatalog.ENTRIES) {
            out.printf(Locale.ROOT, "%-20s %-10s %-10s %s%n", e.name(), "~" + ModelPull.bytes(e.approxBytes()),
                    e.sha256() != null ? "pinned" : "server's", e.description());
            out.printf(Locale.ROOT, "%-20s %s%n", "", e.url());
            out.printf(Locale.ROOT, "%-20s SHA-256: %s%n", "", e.sha256() != null ? e.sha256() + " (" + e.digestNote() + ")" : e.digestNote());
        }
        out.println();
        out.println("edge-agent model pull NAME fetches one into /var/lib/edge-agent/models and points current.gguf at it;");
        out.println("any other .gguf URL works too, with --sha256 HEX.");
    }

    private static int pull(String[] args, Map<String, String> env, PrintStream out, PrintStream err, boolean terminal) {
        String source = null, sha256 = null, dir = null;
        boolean noSha256 = false;
        long minFree = DEFAULT_MIN_FREE;
        int retries = DEFAULT_RETRIES;
        for (int i = 2; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--no-sha256")) {
                noSha256 = true;
                continue;
            }
            if (a.startsWith("--")) {
                if (i + 1 >= args.length) return usage(err, "option " + a + " needs a value");
                String v = args[++i];
                switch (a) {
                    case "--sha256" -> sha256 = v;
                    case "--dir" -> dir = v;
                    case "--min-free" -> {
                        try {
                            minFree = size(v);
                        } catch (IllegalArgumentException e) {
                            return usage(err, "--min-free: " + e.getMessage());
                        }
                    }
                    case "--retries" -> {
                        try {
                            retries = Integer.parseInt(v);
                            if (retries < 0) throw new NumberFormatException();
                        } catch (NumberFormatException e) {
                            return usage(err, "--retries needs a whole number of 0 or more, got " + v);
                        }
                    }
                    default -> {
                        return usage(err, "unknown option " + a);
                    }
                }
            } else if (source == null) {
                source = a;
            } else {
                return usage(err, "unexpected argument '" + a + "'");
            }
        }
        if (source == null) return usage(err, "missing NAME or URL: edge-agent model pull NAME|URL (edge-agent model list: the names)");
        if (sha256 != null && noSha256) return usage(err, "give --sha256 or --no-sha256, not both");
        Path folder;
        if (dir != null) {
            folder = Path.of(dir);
        } else if (env.get("STATE_DIRECTORY") != null && !env.get("STATE_DIRECTORY").isBlank()) {
            folder = Path.of(env.get("STATE_DIRECTORY").split(":")[0], "models");
        } else if (Files.isDirectory(PACKAGE_MODELS)) {
            folder = PACKAGE_MODELS;
        } else {
            return usage(err, "no models folder: give --dir DIR (the Debian package's is " + PACKAGE_MODELS + ")");
        }
        ModelPull.Request request = new ModelPull.Request(source, folder.toAbsolutePath(), sha256, noSha256, minFree, retries,
                Duration.ofSeconds(Long.getLong("phiedge.pull.retryDelaySeconds", 2)), Duration.ofSeconds(Long.getLong("phiedge.pull.stallSeconds", 60)));
        try {
            ModelPull.Outcome o = new ModelPull(env, out, terminal).pull(request);
            out.println("current.gguf -> " + o.model().getFileName() + " (" + ModelPull.bytes(o.bytes()) + ", architecture " + o.architecture()
                    + ", SHA-256 " + o.sha256() + ": " + o.digestSource() + ")");
            if (o.previous() != null && !o.previous().getFileName().equals(o.model().getFileName())) {
                out.println("the previous model, " + o.previous() + ", stays in " + folder + " (delete it to free its space)");
            }
            out.println("restart the agent to load it: sudo systemctl restart edge-agent");
            return 0;
        } catch (ModelPull.PullException e) {
            err.println("edge-agent: " + e.getMessage());
            return 1;
        } catch (IllegalArgumentException e) { // a malformed proxy in the environment
            err.println("edge-agent: " + e.getMessage());
            return 1;
        }
    }

    /** "100M", "1.5G", "4096", "2k": bytes (decimal units, as the sizes shown). */
    static long size(String v) {
        String s = v.strip().toUpperCase(Locale.ROOT).replaceFirst("B$", "");
        double factor = 1;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'K' -> factor = 1e3;
                case 'M' -> factor = 1e6;
                case 'G' -> factor = 1e9;
                case 'T' -> factor = 1e12;
                default -> { }
            }
        }
        String number = factor == 1 ? s : s.substring(0, s.length() - 1);
        try {
            double n = Double.parseDouble(number);
            if (n < 0 || Double.isNaN(n) || Double.isInfinite(n)) throw new NumberFormatException();
            return (long) (n * factor);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a size: " + v + " (e.g. 500M, 1G or bytes)");
        }
    }
}
