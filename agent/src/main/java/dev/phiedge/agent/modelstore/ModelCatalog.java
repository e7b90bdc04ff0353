package dev.phiedge.agent.modelstore;

import java.util.List;
import java.util.Optional;

/**
 * The models {@code edge-agent model pull NAME} knows by name: GGUF files of the Phi-3 family that the
 * runtime runs, each with its URL, its approximate size and, where it is known, its pinned SHA-256.
 *
 * <p>Where no digest is pinned, the pull takes the one Hugging Face's server sends with the file: its
 * {@code X-Linked-Etag} header (on the redirect to the file's storage) is the SHA-256 of the LFS object.
 * A pinned digest wins over the server's; {@code --sha256} wins over both. The pins were read from the
 * files' Hugging Face pages ("Git LFS Details: SHA256"), at the revision in their URL.
 */
public final class ModelCatalog {

    /**
     * @param name        the catalogue name ({@code edge-agent model pull NAME})
     * @param description what it is, one line
     * @param url         where it is downloaded from
     * @param approxBytes its size as its page gives it (for the list; the pull checks the server's exact size)
     * @param sha256      its pinned SHA-256 (64 hex digits), or null where none is pinned
     * @param digestNote  where the digest comes from, in words
     */
    public record Entry(String name, String description, String url, long approxBytes, String sha256, String digestNote) {
        /** The file name the model is stored under: the URL's last path segment. */
        public String fileName() {
            return ModelPull.fileName(url);
        }
    }

    public static final List<Entry> ENTRIES = List.of(
            new Entry("phi-3-mini-4k-q4", "Microsoft Phi-3-mini-4k-instruct, Q4_K_M (Microsoft's own GGUF; 4k context)",
                    "https://huggingface.co/microsoft/Phi-3-mini-4k-instruct-gguf/resolve/main/Phi-3-mini-4k-instruct-q4.gguf",
                    2_390_000_000L, null,
                    "not pinned (not found in a public listing): the server's X-Linked-Etag (Hugging Face's LFS SHA-256)"),
            new Entry("phi-3.5-mini-q4_k_m", "Phi-3.5-mini-instruct, Q4_K_M (bartowski's community GGUF; 128k context)",
                    "https://huggingface.co/bartowski/Phi-3.5-mini-instruct-GGUF/resolve/4cd0c5148e612aa078f250862a4bffe4a10f5d38/"
                            + "Phi-3.5-mini-instruct-Q4_K_M.gguf",
                    2_390_000_000L, "e4165e3a71af97f1b4820da61079826d8752a2088e313af0c7d346796c38eff5",
                    "the file's Hugging Face page at revision 4cd0c51"),
            new Entry("phi-3.5-mini-q4_0", "Phi-3.5-mini-instruct, Q4_0 (bartowski's community GGUF; 128k context)",
                    "https://huggingface.co/bartowski/Phi-3.5-mini-instruct-GGUF/resolve/main/Phi-3.5-mini-instruct-Q4_0.gguf",
                    2_180_000_000L, null,
                    "not pinned (not found in a public listing): the server's X-Linked-Etag (Hugging Face's LFS SHA-256)"));

    private ModelCatalog() {}

    public static Optional<Entry> find(String name) {
        return ENTRIES.stream().filter(e -> e.name().equalsIgnoreCase(name)).findFirst();
    }
}
