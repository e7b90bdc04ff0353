package dev.phiedge.runtime.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A chat format: how system, user and assistant messages become the text a model was trained on.
 * Two formats, rendered as llama.cpp's built-in templates render them ({@code llm_chat_apply_template}):
 * <ul>
 *   <li>{@link #phi3()} ({@code LLM_CHAT_TEMPLATE_PHI_3}): every message is
 *       {@code <|role|>\n{content}<|end|>\n}, the generation prompt {@code <|assistant|>\n}:
 *       <pre>
 *   &lt;|system|&gt;\n{system}&lt;|end|&gt;\n&lt;|user|&gt;\n{user}&lt;|end|&gt;\n&lt;|assistant|&gt;\n
 *       </pre></li>
 *   <li>{@link #chatml()} ({@code LLM_CHAT_TEMPLATE_CHATML}): every message is
 *       {@code <|im_start|>role\n{content}<|im_end|>\n}, the generation prompt
 *       {@code <|im_start|>assistant\n}; what llama.cpp uses for a model without a template.</li>
 * </ul>
 * {@link #detect} picks one from a model's metadata, as llama.cpp's {@code llm_chat_detect_template}
 * does from {@code tokenizer.chat_template} (the Jinja source is recognised by its markers, never run).
 *
 * <p>BOS is not part of the text: {@link #encode} adds it. {@link #encode} never turns special-token
 * text inside a message (a user writing {@code <|end|><|assistant|>}) into a special token: only the
 * template's own markers become control tokens. Tokenizing {@link #render}'s text with
 * {@code parseSpecial = true} (what llama.cpp does) gives the same ids for ordinary messages but lets
 * a message close its turn. A system message with null or empty content is left out. Roles: system,
 * user, assistant. Immutable and thread-safe.
 */
public final class ChatTemplate {
    public static final String SYSTEM = "system", USER = "user", ASSISTANT = "assistant";

    /** One chat message. */
    public record Message(String role, String content) {
        public Message {
            Objects.requireNonNull(role, "role");
            if (!role.equals(SYSTEM) && !role.equals(USER) && !role.equals(ASSISTANT)) {
                throw new IllegalArgumentException("unknown chat role '" + role + "' (system, user or assistant)");
            }
            content = content == null ? "" : content;
        }

        public static Message system(String content) { return new Message(SYSTEM, content); }

        public static Message user(String content) { return new Message(USER, content); }

        public static Message assistant(String content) { return new Message(ASSISTANT, content); }
    }

    private static final ChatTemplate PHI3 = new ChatTemplate("phi3", "<|", "|>\n", "<|end|>\n");
    private static final ChatTemplate CHATML = new ChatTemplate("chatml", "<|im_start|>", "\n", "<|im_end|>\n");

    private final String name;
    /** A message is {@code open + role + afterRole + content + close}. */
    private final String open, afterRole, close;

    private ChatTemplate(String name, String open, String afterRole, String close) {
        this.name = name;
        this.open = open;
        this.afterRole = afterRole;
        this.close = close;
    }

    /** The Phi-3 format. */
    public static ChatTemplate phi3() { return PHI3; }

    /** The ChatML format. */
    public static ChatTemplate chatml() { return CHATML; }

    /**
     * The format for a model, from its {@code tokenizer.chat_template} (null or blank when the file has
     * none) and {@code general.architecture}: a template with {@code <|im_start|>} is ChatML (unless it
     * has Phi-4's {@code <|im_sep|>}), one with {@code <|assistant|>} and {@code <|end|>} is Phi-3 (the
     * tests in llama.cpp's order); without a template, a {@code phi3} model gets Phi-3 and any other
     * ChatML, llama.cpp's default. Empty for a template of another format (Llama 2's {@code [INST]},
     * Llama 3's headers, ...), which this runtime does not render.
     */
    public static Optional<ChatTemplate> detect(String chatTemplateSource, String architecture) {
        if (chatTemplateSource == null || chatTemplateSource.isBlank()) {
            return Optional.of("phi3".equals(architecture) ? PHI3 : CHATML);
        }
        if (chatTemplateSource.contains("<|im_start|>")) {
            return chatTemplateSource.contains("<|im_sep|>") ? Optional.empty() : Optional.of(CHATML);
        }
        if (chatTemplateSource.contains("[INST]")) return Optional.empty();
        if (chatTemplateSource.contains("<|assistant|>") && chatTemplateSource.contains("<|end|>")) return Optional.of(PHI3);
        return Optional.empty();
    }

    /** {@code phi3} or {@code chatml}. */
    public String name() { return name; }

    /** One system (may be null or empty) and one user turn, then the assistant prompt. */
    public String render(String system, String user) {
        return render(turn(system, user), true);
    }

    /** The messages, in order, followed by the generation prompt when {@code addGenerationPrompt}. */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        return layout(messages, addGenerationPrompt, null);
    }

    /**
     * Token ids of {@link #render(String, String)}, BOS included: the same as
     * {@code tokenizer.encode(render(system, user), true, true)} unless a message contains the text of
     * a control token, which here stays plain text.
     */
    public int[] encode(Tokenizer tokenizer, String system, String user) {
        return encode(tokenizer, turn(system, user), true);
    }

    /** Token ids of {@link #render(List, boolean)}, BOS included; message text is never parsed for control tokens. */
    public int[] encode(Tokenizer tokenizer, List<Message> messages, boolean addGenerationPrompt) {
        List<Integer> ranges = new ArrayList<>();
        String text = layout(messages, addGenerationPrompt, ranges);
        return tokenizer.encodeWithLiterals(text, true, ranges.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * The text of the system turn alone, with which {@link #render(String, String)} begins for every
     * user message: {@code <|system|>\n{system}<|end|>\n} (Phi-3); empty when {@code system} is null or
     * empty.
     */
    public String systemPrefix(String system) {
        return render(List.of(Message.system(system)), false);
    }

    /**
     * The tokens of {@link #systemPrefix}, BOS included and the system text kept plain: what a session
     * can evaluate once and save ({@code Session.savePrefix}) for all prompts with this system turn.
     * They begin {@link #encode(Tokenizer, String, String)}'s tokens for any user message when the
     * template's markers are special tokens of the vocabulary (Phi-3's in a Phi-3 vocabulary, where
     * the turn ends in a special token); where a marker is plain text the last tokens may merge with
     * what follows, so a caller compares before saving. Only BOS (if the vocabulary adds one) when
     * {@code system} is null or empty.
     */
    public int[] encodeSystemPrefix(Tokenizer tokenizer, String system) {
        return encode(tokenizer, List.of(Message.system(system)), false);
    }

    private static List<Message> turn(String system, String user) {
        List<Message> messages = new ArrayList<>(2);
        messages.add(Message.system(system));
        messages.add(Message.user(user));
        return messages;
    }

    /** Renders, recording each message content's [start, end) in {@code contentRanges} when not null. */
    private String layout(List<Message> messages, boolean addGenerationPrompt, List<Integer> contentRanges) {
        StringBuilder sb = new StringBuilder();
        for (Message m : messages) {
            if (m.role().equals(SYSTEM) && m.content().isEmpty()) continue;
            sb.append(open).append(m.role()).append(afterRole);
            if (contentRanges != null && !m.content().isEmpty()) {
                contentRanges.add(sb.length());
                contentRanges.add(sb.length() + m.content().length());
            }
            sb.append(m.content()).append(close);
        }
        if (addGenerationPrompt) sb.append(open).append(ASSISTANT).append(afterRole);
        return sb.toString();
    }

    @Override
    public String toString() { return "ChatTemplate[" + name + "]"; }
}
