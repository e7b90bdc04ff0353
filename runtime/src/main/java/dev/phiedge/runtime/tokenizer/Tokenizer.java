package dev.phiedge.runtime.tokenizer;

import dev.phiedge.runtime.gguf.GgufFile;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;

/**
 * llama.cpp's SentencePiece tokenizer (llama-vocab.cpp, commit c392e50): {@code llama_tokenize},
 * {@code llama_token_to_piece} and {@code llama_detokenize} for vocabularies with
 * {@code tokenizer.ggml.model = llama}.
 *
 * <p>Encoding: (1) with {@code parseSpecial}, special tokens (CONTROL, USER_DEFINED, UNKNOWN; without
 * it only USER_DEFINED) are cut out of the text, longest text first, honouring LSTRIP/RSTRIP;
 * (2) each remaining raw-text fragment that starts the text or follows a special token gets a leading
 * space when {@code add_space_prefix}; spaces become {@code ▁}; (3) the fragment is split into UTF-8
 * characters and the adjacent pair whose concatenation is a vocabulary token with the highest score is
 * merged repeatedly (ties: leftmost), with a priority queue; (4) a final symbol that is not a token is
 * emitted byte by byte as {@code <0xXX>}. BOS/EOS are added per {@code add_bos}/{@code add_eos}.
 *
 * <p>Immutable and thread-safe.
 */
public final class Tokenizer {
    private final Vocabulary vocab;
    /** token_to_piece(id, special=true) for every id, as llama.cpp caches it. */
    private final byte[][] pieces;

    public Tokenizer(Vocabulary vocab) {
        this.vocab = vocab;
        this.pieces = new byte[vocab.size()][];
        for (int id = 0; id < pieces.length; id++) pieces[id] = renderPiece(id);
    }

    public static Tokenizer fromGguf(GgufFile f) { return new Tokenizer(Vocabulary.fromGguf(f)); }

    public Vocabulary vocabulary() { return vocab; }

    /**
     * {@code llama_tokenize(vocab, text, addSpecial, parseSpecial)}. {@code addSpecial} adds BOS/EOS as
     * the vocabulary asks; {@code parseSpecial} turns the text of CONTROL/UNKNOWN tokens (e.g.
     * {@code <|user|>}) into those tokens. USER_DEFINED tokens (e.g. Phi-3's {@code </s>}) are always
     * recognised, as in llama.cpp.
     */
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        return encode(text, addSpecial, parseSpecial, NO_RANGES);
    }

    private static final int[] NO_RANGES = new int[0];

    /**
     * Like {@link #encode(String, boolean, boolean)} with special tokens parsed, except inside the
     * {@code literal} char ranges ({@code [start0, end0, start1, end1, ...]}, ascending, disjoint):
     * there, CONTROL/UNKNOWN token texts stay plain text, as with {@code parseSpecial = false}. Used
     * for chat messages, so that text such as {@code <|end|>} inside a message cannot end its turn.
     */
    int[] encodeWithLiterals(String text, boolean addSpecial, int[] literal) {
        return encode(text, addSpecial, true, literal);
    }

    private int[] encode(String text, boolean addSpecial, boolean parseSpecial, int[] literal) {
        IntList out = new IntList(Math.max(16, text.length() / 3));
        if (addSpecial && vocab.addBos()) out.add(requireId(vocab.bos(), "bos"));
        boolean prevSpecial = true; // the first fragment gets the space prefix too
        for (Fragment fr : partition(text, parseSpecial, literal)) {
            if (fr.token >= 0) {
                out.add(fr.token);
                prevSpecial = true;
            } else {
                String raw = text.substring(fr.start, fr.end);
                String s = vocab.addSpacePrefix() && prevSpecial ? " " + raw : raw;
                encodeRaw(s.replace(' ', '\u2581'), out);
                prevSpecial = false;
            }
        }
        if (addSpecial && vocab.addEos()) out.add(requireId(vocab.eos(), "eos"));
        return out.toArray();
    }

    /**
     * {@code llama_token_to_piece(id, lstrip=0, special)}: a NORMAL token's text with {@code ▁} as a
     * space, a BYTE token's byte, a USER_DEFINED token's text; CONTROL and UNKNOWN tokens give their text
     * only when {@code special}, else nothing.
     */
    public byte[] tokenToPiece(int id, boolean special) {
        checkId(id);
        if (!special && (vocab.attributes(id) & (Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_UNKNOWN)) != 0) {
            return new byte[0];
        }
        return pieces[id].clone();
    }

    /** {@link #tokenToPiece} decoded as UTF-8 (a lone byte of a multi-byte character becomes U+FFFD). */
    public String tokenToString(int id, boolean special) {
        return new String(tokenToPiece(id, special), StandardCharsets.UTF_8);
    }

    /**
     * {@code llama_detokenize(ids, removeSpecial, unparseSpecial)} as bytes. One leading space is
     * stripped from the first piece (the space prefix the encoder added); when {@code removeSpecial}
     * removes a leading BOS, nothing is stripped. {@code removeSpecial} also drops a trailing EOS when
     * the vocabulary adds one.
     */
    public byte[] decodeBytes(int[] ids, boolean removeSpecial, boolean unparseSpecial) {
        int from = 0, to = ids.length;
        boolean removeSpace = vocab.addSpacePrefix();
        if (removeSpecial && vocab.addBos() && to > 0 && ids[0] == vocab.bos()) {
            removeSpace = false;
            from = 1;
        }
        if (removeSpecial && vocab.addEos() && to > from && ids[to - 1] == vocab.eos()) to--;
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(16, (to - from) * 4));
        for (int i = from; i < to; i++) {
            byte[] p = pieceView(ids[i], unparseSpecial);
            int skip = removeSpace && p.length > 0 && p[0] == ' ' ? 1 : 0;
            out.write(p, skip, p.length - skip);
            removeSpace = false;
        }
        return out.toByteArray();
    }

    /** {@link #decodeBytes} as text; invalid UTF-8 (e.g. a cut multi-byte character) becomes U+FFFD. */
    public String decode(int[] ids, boolean removeSpecial, boolean unparseSpecial) {
        return new String(decodeBytes(ids, removeSpecial, unparseSpecial), StandardCharsets.UTF_8);
    }

    /** Whether generation stops at {@code id}: eos, {@code <|end|>}, {@code <|endoftext|>}, {@code <|eot_id|>}, .... */
    public boolean isEndOfGeneration(int id) { return vocab.isEndOfGeneration(id); }

    /** The chat turn terminator ({@code <|end|>} for Phi-3), or -1. */
    public int endOfTurn() { return vocab.endOfTurn(); }

    // ---------------------------------------------------------------------------------------------
    // Special-token partition (llama_vocab::impl::tokenizer_st_partition)

    /** A raw-text range [start, end) of the input, or a special token ({@code token >= 0}). */
    private record Fragment(int start, int end, int token) {
        static Fragment raw(int start, int end) { return new Fragment(start, end, -1); }
    }

    private List<Fragment> partition(String text, boolean parseSpecial, int[] literal) {
        List<Fragment> frags = new ArrayList<>();
        if (text.isEmpty()) return frags;
        frags.add(Fragment.raw(0, text.length()));
        for (int sid : vocab.specialTokensLongestFirst()) {
            int attr = vocab.attributes(sid);
            if (!parseSpecial && (attr & (Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_UNKNOWN)) != 0) continue;
            String st = vocab.piece(sid);
            if (st.isEmpty()) continue;
            Finder finder = new Finder(text, st);
            if (finder.find(0) < 0) continue; // cheap exit: the token does not occur at all
            List<Fragment> next = new ArrayList<>(frags.size() + 8);
            for (Fragment fr : frags) {
                if (fr.token >= 0) {
                    next.add(fr);
                    continue;
                }
                int start = fr.start, end = fr.end, from = start;
                while (start < end) {
                    int m = finder.find(from);
                    if (m < 0 || m + st.length() > end) break;
                    if ((attr & Vocabulary.ATTR_USER_DEFINED) == 0 && overlaps(literal, m, m + st.length())) {
                        from = m + 1; // protected text: look for a later occurrence
                        continue;
                    }
                    int leftEnd = m;
                    if ((attr & Vocabulary.ATTR_LSTRIP) != 0) {
                        while (leftEnd > start && isSpace(text.charAt(leftEnd - 1))) leftEnd--;
                    }
                    if (leftEnd > start) next.add(Fragment.raw(start, leftEnd));
                    next.add(new Fragment(0, 0, sid));
                    start = m + st.length();
                    if ((attr & Vocabulary.ATTR_RSTRIP) != 0) {
                        while (start < end && isSpace(text.charAt(start))) start++;
                    }
                    from = start;
                }
                if (start < end) next.add(Fragment.raw(start, end));
            }
            frags = next;
        }
        return frags;
    }

    private static boolean overlaps(int[] ranges, int start, int end) {
        for (int i = 0; i + 1 < ranges.length && ranges[i] < end; i += 2) {
            if (ranges[i + 1] > start) return true;
        }
        return false;
    }

    /** C {@code isspace} in the "C" locale. */
    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
    }

    /**
     * Finds occurrences of one string at non-decreasing offsets, remembering the last hit so that the
     * whole text is scanned about once per special token, however many fragments it is cut into.
     */
    private static final class Finder {
        private final String text, needle;
        private int hit = -2; // -2: not searched yet; -1: none at or after hitFrom

        Finder(String text, String needle) { this.text = text; this.needle = needle; }

        int find(int from) {
            if (hit == -1) return -1;
            if (hit < from) hit = text.indexOf(needle, from);
            return hit;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // SentencePiece segmentation of one fragment (llm_tokenizer_spm_session::tokenize)

    private record Bigram(float score, int left, int right, int size) {}

    /** Highest score first; equal scores: the leftmost pair first. */
    private static int compareBigrams(Bigram a, Bigram b) {
        int c = Float.compare(b.score, a.score);
        return c != 0 ? c : Integer.compare(a.left, b.left);
    }

    private void encodeRaw(String s, IntList out) {
        int cp = s.codePointCount(0, s.length());
        int[] start = new int[cp], len = new int[cp], prev = new int[cp], next = new int[cp];
        for (int i = 0, off = 0; i < cp; i++) {
            int n = Character.charCount(s.codePointAt(off));
            start[i] = off;
            len[i] = n;
            prev[i] = i - 1;
            next[i] = i + 1 < cp ? i + 1 : -1;
            off += n;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>(Math.max(1, cp), Tokenizer::compareBigrams);
        for (int i = 1; i < cp; i++) tryAddBigram(s, start, len, i - 1, i, queue);
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            int l = b.left, r = b.right;
            // Skip stale candidates: a symbol was merged away or has grown since the pair was queued.
            if (len[l] == 0 || len[r] == 0 || len[l] + len[r] != b.size) continue;
            len[l] += len[r];
            len[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) prev[next[r]] = l;
            tryAddBigram(s, start, len, prev[l], l, queue);
            tryAddBigram(s, start, len, l, next[l], queue);
        }
        for (int i = 0; i != -1 && cp > 0; i = next[i]) {
            String sym = s.substring(start[i], start[i] + len[i]);
            int id = vocab.idOrMinus1(sym);
            if (id >= 0) {
                out.add(id);
            } else {
                for (byte b : sym.getBytes(StandardCharsets.UTF_8)) out.add(vocab.byteToken(b & 0xFF));
            }
        }
    }

    private void tryAddBigram(String s, int[] start, int[] len, int left, int right, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) return;
        int size = len[left] + len[right];
        int id = vocab.idOrMinus1(s.substring(start[left], start[left] + size));
        if (id < 0) return;
        queue.add(new Bigram(vocab.score(id), left, right, size));
    }

    // ---------------------------------------------------------------------------------------------
    // Pieces

    /** token_to_piece(id, special=true), computed once per id. */
    private byte[] renderPiece(int id) {
        int attr = vocab.attributes(id);
        String text = vocab.piece(id);
        if ((attr & (Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_UNKNOWN | Vocabulary.ATTR_USER_DEFINED)) != 0) {
            return text.getBytes(StandardCharsets.UTF_8);
        }
        if ((attr & Vocabulary.ATTR_NORMAL) != 0) {
            return text.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
        }
        if ((attr & Vocabulary.ATTR_BYTE) != 0) {
            return new byte[] {(byte) byteValue(text)};
        }
        return new byte[0]; // UNUSED, UNDEFINED: printed as nothing
    }

    /** The byte of a BYTE token: hex digits after {@code <0x} (strtol), or the text's first byte. */
    private static int byteValue(String text) {
        if (text.startsWith("<0x")) {
            int v = 0;
            for (int i = 3; i < text.length() && Character.digit(text.charAt(i), 16) >= 0; i++) {
                v = v * 16 + Character.digit(text.charAt(i), 16);
            }
            return v & 0xFF;
        }
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        return b.length > 0 ? b[0] & 0xFF : 0;
    }

    /** The shared piece array (callers must not modify it). */
    byte[] pieceView(int id, boolean special) {
        checkId(id);
        if (!special && (vocab.attributes(id) & (Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_UNKNOWN)) != 0) {
            return EMPTY;
        }
        return pieces[id];
    }

    private static final byte[] EMPTY = new byte[0];

    private void checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.." + (pieces.length - 1) + ")");
        }
    }

    private static int requireId(int id, String what) {
        if (id < 0) throw new IllegalStateException("the vocabulary asks for a " + what + " token but has none");
        return id;
    }

    /** A growable int array. */
    private static final class IntList {
        private int[] a;
        private int n;

        IntList(int capacity) { a = new int[capacity]; }

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, a.length * 2);
            a[n++] = v;
        }

        int[] toArray() { return Arrays.copyOf(a, n); }
    }
}
