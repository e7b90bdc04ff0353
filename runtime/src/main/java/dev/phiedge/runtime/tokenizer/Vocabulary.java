package dev.phiedge.runtime.tokenizer;

import dev.phiedge.runtime.gguf.GgufFile;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A SentencePiece ("llama" tokenizer model) vocabulary read from GGUF metadata, with the token
 * attributes llama.cpp derives at load time ({@code llama_vocab::impl::load}, commit c392e50):
 *
 * <ul>
 *   <li>attributes from {@code tokenizer.ggml.token_type};</li>
 *   <li>tokens whose text is a known end-of-turn / end-of-generation marker ({@code <|end|>},
 *       {@code <|endoftext|>}, {@code <|eot_id|>}, ...) are forced to CONTROL and form the EOG set
 *       together with eos and the {@code eot}/{@code eom} ids from metadata;</li>
 *   <li>the Phi-3 quirk: when {@code general.name}, lowercased, contains {@code phi3} or {@code phi-3},
 *       every special token (CONTROL, USER_DEFINED or UNKNOWN) and {@code </s>} gets RSTRIP, except
 *       {@code <unk>}, {@code <s>} and {@code <|endoftext|>}.</li>
 * </ul>
 *
 * Immutable and thread-safe.
 */
public final class Vocabulary {
    /** llama.cpp {@code llama_token_attr} bits, as reported by {@link #attributes(int)}. */
    public static final int ATTR_UNKNOWN = 1, ATTR_UNUSED = 1 << 1, ATTR_NORMAL = 1 << 2, ATTR_CONTROL = 1 << 3,
            ATTR_USER_DEFINED = 1 << 4, ATTR_BYTE = 1 << 5, ATTR_NORMALIZED = 1 << 6, ATTR_LSTRIP = 1 << 7,
            ATTR_RSTRIP = 1 << 8, ATTR_SINGLE_WORD = 1 << 9;
    static final int ATTR_SPECIAL = ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN;

    /** Texts llama.cpp recognises as end of turn (and therefore end of generation). */
    private static final List<String> EOT_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>");
    /** Further end-of-generation texts: end of message and the FIM pad/repo/file-separator tokens. */
    private static final List<String> OTHER_EOG_TEXTS = List.of("<|eom_id|>", "<|fim_pad|>", "<fim-pad>", "<PAD>",
            "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<|file_sep|>");
    /** Preference order for {@link #endOfTurn()}: a chat turn terminator, not a document end. */
    private static final List<String> TURN_END_TEXTS = List.of("<|end|>", "<|eot_id|>", "<|im_end|>",
            "<end_of_turn>", "<EOT>", "<｜end▁of▁sentence｜>");

    private final String name;
    private final String[] pieces;
    private final float[] scores;
    private final TokenType[] types;
    private final int[] attrs;
    private final Map<String, Integer> ids;
    private final int bos, eos, unk, pad, eot;
    private final boolean addBos, addEos, addSpacePrefix;
    private final boolean[] eog;
    private final int[] eogIds;
    private final int[] byteTokens = new int[256];
    /** Special tokens (attr CONTROL, USER_DEFINED or UNKNOWN), longest text first. */
    private final int[] specialTokens;
    private final int longestPieceBytes;

    private Vocabulary(String name, String[] pieces, float[] scores, int[] tokenTypes, int bos, int eos, int unk,
                       int pad, int eotKey, int eomKey, boolean addBos, boolean addEos, boolean addSpacePrefix) {
        int n = pieces.length;
        if (n == 0) throw new IllegalArgumentException("empty vocabulary");
        if (scores != null && scores.length != n) {
            throw new IllegalArgumentException("tokenizer.ggml.scores has " + scores.length + " entries for " + n + " tokens");
        }
        if (tokenTypes != null && tokenTypes.length != n) {
            throw new IllegalArgumentException("tokenizer.ggml.token_type has " + tokenTypes.length + " entries for " + n + " tokens");
        }
        this.name = name == null ? "" : name;
        this.pieces = pieces.clone();
        this.scores = scores == null ? new float[n] : scores.clone();
        this.types = new TokenType[n];
        this.attrs = new int[n];
        this.ids = HashMap.newHashMap(n);
        for (int i = 0; i < n; i++) {
            types[i] = tokenTypes == null ? TokenType.NORMAL : TokenType.fromGguf(tokenTypes[i]);
            attrs[i] = attrOf(types[i]);
            ids.put(this.pieces[i], i); // a duplicate text maps to its last id, as llama.cpp's token_to_id does
        }
        this.bos = valid(bos, n);
        this.eos = valid(eos, n);
        this.unk = valid(unk, n);
        this.pad = valid(pad, n);
        this.addBos = addBos;
        this.addEos = addEos;
        this.addSpacePrefix = addSpacePrefix;

        // End of generation, detected by text; such tokens become CONTROL.
        this.eog = new boolean[n];
        for (List<String> texts : List.of(EOT_TEXTS, OTHER_EOG_TEXTS)) {
            for (String t : texts) {
                Integer id = ids.get(t);
                if (id != null) {
                    eog[id] = true;
                    if ((attrs[id] & ATTR_CONTROL) == 0) attrs[id] = ATTR_CONTROL;
                }
            }
        }
        for (int id : new int[] {this.eos, valid(eotKey, n), valid(eomKey, n)}) if (id >= 0) eog[id] = true;
        this.eogIds = indicesOf(eog);
        int turnEnd = valid(eotKey, n);
        for (int i = 0; turnEnd < 0 && i < TURN_END_TEXTS.size(); i++) turnEnd = id(TURN_END_TEXTS.get(i)).orElse(-1);
        this.eot = turnEnd;

        List<Integer> special = new ArrayList<>();
        for (int i = 0; i < n; i++) if ((attrs[i] & ATTR_SPECIAL) != 0) special.add(i);
        special.sort((a, b) -> Integer.compare(this.pieces[b].length(), this.pieces[a].length())); // stable
        this.specialTokens = special.stream().mapToInt(Integer::intValue).toArray();

        String lower = this.name.toLowerCase(Locale.ROOT);
        if (lower.contains("phi3") || lower.contains("phi-3")) {
            for (int id : specialTokens) attrs[id] |= ATTR_RSTRIP;
            id("</s>").ifPresent(id -> attrs[id] |= ATTR_RSTRIP);
            for (String t : List.of("<unk>", "<s>", "<|endoftext|>")) id(t).ifPresent(id -> attrs[id] &= ~ATTR_RSTRIP);
        }

        int longest = 0;
        for (String piece : this.pieces) longest = Math.max(longest, textBytes(piece));
        this.longestPieceBytes = longest;

        for (int b = 0; b < 256; b++) {
            Integer id = ids.get(String.format("<0x%02X>", b));
            if (id == null && b < 0x80) id = ids.get(String.valueOf((char) b));
            byteTokens[b] = id != null ? id : this.unk;
        }
    }

    /** Reads the vocabulary of {@code f}; {@code general.name} decides the Phi-3 RSTRIP rule. */
    public static Vocabulary fromGguf(GgufFile f) {
        return fromGguf(f, f.getString("general.name", ""));
    }

    /**
     * Reads the vocabulary of {@code f} as if its {@code general.name} were {@code generalName} (which
     * only matters for the Phi-3 RSTRIP rule).
     */
    public static Vocabulary fromGguf(GgufFile f, String generalName) {
        String model = f.getString("tokenizer.ggml.model", "llama");
        if (!model.equals("llama")) {
            throw new IllegalArgumentException(f.path() + ": tokenizer model '" + model
                    + "' is not supported (only SentencePiece, tokenizer.ggml.model = llama)");
        }
        if (!f.has("tokenizer.ggml.tokens")) {
            throw new IllegalArgumentException(f.path() + ": no tokenizer.ggml.tokens (the file has no vocabulary)");
        }
        try {
            String[] tokens = f.getStringArray("tokenizer.ggml.tokens");
            int n = tokens.length;
            return new Vocabulary(generalName, tokens,
                    f.has("tokenizer.ggml.scores") ? f.getFloatArray("tokenizer.ggml.scores") : null,
                    f.has("tokenizer.ggml.token_type") ? f.getIntArray("tokenizer.ggml.token_type") : null,
                    tokenId(f, "tokenizer.ggml.bos_token_id", 1, n),
                    tokenId(f, "tokenizer.ggml.eos_token_id", 2, n),
                    tokenId(f, "tokenizer.ggml.unknown_token_id", 0, n),
                    tokenId(f, "tokenizer.ggml.padding_token_id", -1, n),
                    tokenId(f, "tokenizer.ggml.eot_token_id", -1, n),
                    tokenId(f, "tokenizer.ggml.eom_token_id", -1, n),
                    f.getBoolean("tokenizer.ggml.add_bos_token", true),
                    f.getBoolean("tokenizer.ggml.add_eos_token", false),
                    f.getBoolean("tokenizer.ggml.add_space_prefix", true));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(f.path() + ": " + e.getMessage(), e);
        }
    }

    /**
     * A special-token id from metadata (uint32). As in llama.cpp, a value outside the vocabulary (e.g.
     * 0xFFFFFFFF, "none") leaves the default in place.
     */
    private static int tokenId(GgufFile f, String key, int fallback, int n) {
        if (!f.has(key)) return fallback;
        long v = f.getLong(key);
        return v >= 0 && v < n ? (int) v : fallback;
    }

    /**
     * A vocabulary from plain arrays (synthetic models, tests). {@code scores} and {@code tokenTypes}
     * (GGUF type ids) may be null: all 0 and all NORMAL. Ids outside the vocabulary mean "none".
     */
    public static Vocabulary of(String generalName, String[] pieces, float[] scores, int[] tokenTypes,
                                int bos, int eos, int unk, boolean addBos, boolean addEos, boolean addSpacePrefix) {
        return new Vocabulary(generalName, pieces, scores, tokenTypes, bos, eos, unk, -1, -1, -1,
                addBos, addEos, addSpacePrefix);
    }

    public int size() { return pieces.length; }

    /** The token's text as stored (SentencePiece form: {@code ▁} for a space, {@code <0x0A>} for a byte). */
    public String piece(int id) { return pieces[id]; }

    public float score(int id) { return scores[id]; }

    public TokenType type(int id) { return types[id]; }

    /** The llama.cpp attribute bits ({@code ATTR_*}) after the load-time rules above. */
    public int attributes(int id) { return attrs[id]; }

    /** CONTROL, USER_DEFINED or UNKNOWN: the tokens recognised in text when special tokens are parsed. */
    public boolean isSpecial(int id) { return (attrs[id] & ATTR_SPECIAL) != 0; }

    public int bos() { return bos; }

    public int eos() { return eos; }

    public int unk() { return unk; }

    /** The padding token, or -1. */
    public int pad() { return pad; }

    public boolean addBos() { return addBos; }

    public boolean addEos() { return addEos; }

    public boolean addSpacePrefix() { return addSpacePrefix; }

    /** The {@code general.name} the attributes were derived with. */
    public String name() { return name; }

    public OptionalInt id(String piece) {
        Integer id = ids.get(piece);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** Token id of {@code piece}, or -1 (allocation-free variant of {@link #id(String)} for the encoder). */
    int idOrMinus1(String piece) {
        Integer id = ids.get(piece);
        return id == null ? -1 : id;
    }

    /** The byte-fallback token for {@code b} (0..255): {@code <0xXX>}, else the byte as text, else unk. */
    public int byteToken(int b) { return byteTokens[b & 0xFF]; }

    public boolean isEndOfGeneration(int id) { return id >= 0 && id < eog.length && eog[id]; }

    /** All end-of-generation ids, ascending. */
    public int[] endOfGenerationIds() { return eogIds.clone(); }

    /**
     * The chat turn terminator ({@code tokenizer.ggml.eot_token_id}, else the first of {@code <|end|>},
     * {@code <|eot_id|>}, {@code <|im_end|>}, ... present), or -1.
     */
    public int endOfTurn() { return eot; }

    int[] specialTokensLongestFirst() { return specialTokens; }

    /**
     * The most text one token can stand for, in UTF-8 bytes: the longest piece's UTF-8 length, counting
     * each {@code ▁} as the one byte of the space it replaces (the encoder turns spaces into {@code ▁}
     * before matching, so a piece matches a space and a literal {@code ▁} alike; count text the same way,
     * a literal {@code ▁} as one byte). A text of N such bytes therefore needs at least
     * {@code ceil(N / longestPieceBytes())} tokens: every token covers at most this much of it (a byte
     * token covers one byte; a special token its own text, apart from whitespace that LSTRIP/RSTRIP
     * remove). 27 for the Phi-3 vocabulary ({@code ▁административ}).
     */
    public int longestPieceBytes() { return longestPieceBytes; }

    /** UTF-8 length of {@code piece}, with {@code ▁} counted as one byte. */
    private static int textBytes(String piece) {
        int n = 0;
        for (int i = 0; i < piece.length(); i++) {
            char c = piece.charAt(i);
            if (c < 0x80 || c == '\u2581') n += 1;
            else if (c < 0x800) n += 2;
            else if (Character.isHighSurrogate(c) && i + 1 < piece.length() && Character.isLowSurrogate(piece.charAt(i + 1))) {
                n += 4;
                i++;
            } else n += 3; // a lone surrogate is encoded as '?' (1 byte): 3 over-counts, which is safe
        }
        return n;
    }

    private static int attrOf(TokenType t) {
        return switch (t) {
            case NORMAL -> ATTR_NORMAL;
            case UNKNOWN -> ATTR_UNKNOWN;
            case CONTROL -> ATTR_CONTROL;
            case USER_DEFINED -> ATTR_USER_DEFINED;
            case UNUSED -> ATTR_UNUSED;
            case BYTE -> ATTR_BYTE;
            case UNDEFINED -> 0;
        };
    }

    private static int valid(int id, int n) { return id >= 0 && id < n ? id : -1; }

    private static int[] indicesOf(boolean[] set) {
        int[] out = new int[set.length];
        int k = 0;
        for (int i = 0; i < set.length; i++) if (set[i]) out[k++] = i;
        return Arrays.copyOf(out, k);
    }

    @Override
    public String toString() {
        return "Vocabulary[" + name + ", " + size() + " tokens, bos=" + bos + ", eos=" + eos + ", eot=" + eot + "]";
    }
}
