package dev.phiedge.runtime.tokenizer;

import dev.phiedge.runtime.gguf.GgufFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Map;

/** The tokenizer reference files (copied into src/test/resources/tokenizer) and cached tokenizers. */
final class Fixtures {
    static final String PHI3_VOCAB = "ggml-vocab-phi-3.gguf";
    static final String LLAMA_SPM_VOCAB = "ggml-vocab-llama-spm.gguf";
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";
    private static final Map<String, Tokenizer> CACHE = new ConcurrentHashMap<>();

    private Fixtures() {}

    static Path resource(String name) {
        URL url = Fixtures.class.getResource("/tokenizer/" + name);
        if (url == null) throw new IllegalStateException("test resource tokenizer/" + name + " is missing");
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Tokenizer phi3() { return load(resource(PHI3_VOCAB), null); }

    static Tokenizer llamaSpm() { return load(resource(LLAMA_SPM_VOCAB), null); }

    /** The Phi-3 vocabulary as if general.name lacked "phi3" (no RSTRIP quirk). */
    static Tokenizer phi3NamedOtherwise() { return load(resource(PHI3_VOCAB), "Phi 3 Mini 4k Instruct"); }

    /** A tokenizer for the GGUF at {@code file}, cached; {@code name} overrides general.name when not null. */
    static Tokenizer load(Path file, String name) {
        return CACHE.computeIfAbsent(file + "|" + name, k -> {
            try (GgufFile f = GgufFile.open(file)) {
                return new Tokenizer(name == null ? Vocabulary.fromGguf(f) : Vocabulary.fromGguf(f, name));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** The cases of an llama.cpp {@code .inp} file, as UTF-8 text. */
    static List<String> readCases(Path inp) throws IOException {
        String all = Files.readString(inp, StandardCharsets.UTF_8);
        List<String> cases = new ArrayList<>();
        int pos = 0;
        while (pos < all.length()) {
            int sep = all.indexOf(SEPARATOR, pos);
            if (sep < 0) throw new IllegalStateException(inp + ": text after the last separator");
            cases.add(all.substring(pos, sep));
            pos = sep + SEPARATOR.length();
        }
        return cases;
    }

    /** The lines of an llama.cpp {@code .out} file as id arrays. */
    static List<int[]> readExpected(Path out) throws IOException {
        List<int[]> ids = new ArrayList<>();
        for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            String t = line.strip();
            ids.add(t.isEmpty() ? new int[0] : java.util.Arrays.stream(t.split(" ")).mapToInt(Integer::parseInt).toArray());
        }
        return ids;
    }

    static byte[] hex(String s) { return HexFormat.of().parseHex(s); }

    static String utf8(String hex) { return new String(hex(hex), StandardCharsets.UTF_8); }
}
