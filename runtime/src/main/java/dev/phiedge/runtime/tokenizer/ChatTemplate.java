package dev.phiedge.runtime.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The Phi-3 chat format (llama.cpp {@code LLM_CHAT_TEMPLATE_PHI_3}): every message is
 * {@code <|role|>\n{content}<|end|>\n}, and the generation prompt is {@code <|assistant|>\n}:
 * <pre>
 *   &lt;|system|&gt;\n{system}&lt;|end|&gt;\n&lt;|user|&gt;\n{user}&lt;|end|&gt;\n&lt;|assistant|&gt;\n
 * </pre>
 * BOS is not part of the text: tokenize the rendered text with {@code addSpecial = true,
 * parseSpecial = true} (what llama.cpp does), or use {@link #encode}, which gives the same ids for
 * ordinary messages but never turns special-token text inside a message into a special token.
 * A system message with null or empty content is left out. Roles: system, user, assistant.
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

    private static final ChatTemplate PHI3 = new ChatTemplate();

    private ChatTemplate() {}

    public static ChatTemplate phi3() { return PHI3; }

    /** One system (may be null or empty) and one user turn, then the assistant prompt. */
    public String render(String system, String user) {
        return render(turn(system, user), true);
    }

    /** The messages, in order, followed by {@code <|assistant|>\n} when {@code addGenerationPrompt}. */
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

    /** Token ids of {@link #render(List, boolean)}; message text is never parsed for control tokens. */
    public int[] encode(Tokenizer tokenizer, List<Message> messages, boolean addGenerationPrompt) {
        List<Integer> ranges = new ArrayList<>();
        String text = layout(messages, addGenerationPrompt, ranges);
        return tokenizer.encodeWithLiterals(text, true, ranges.stream().mapToInt(Integer::intValue).toArray());
    }

    private static List<Message> turn(String system, String user) {
        List<Message> messages = new ArrayList<>(2);
        messages.add(Message.system(system));
        messages.add(Message.user(user));
        return messages;
    }

    /** Renders, recording each message content's [start, end) in {@code contentRanges} when not null. */
    private static String layout(List<Message> messages, boolean addGenerationPrompt, List<Integer> contentRanges) {
        StringBuilder sb = new StringBuilder();
        for (Message m : messages) {
            if (m.role().equals(SYSTEM) && m.content().isEmpty()) continue;
            sb.append("<|").append(m.role()).append("|>\n");
            if (contentRanges != null && !m.content().isEmpty()) {
                contentRanges.add(sb.length());
                contentRanges.add(sb.length() + m.content().length());
            }
            sb.append(m.content()).append("<|end|>\n");
        }
        if (addGenerationPrompt) sb.append("<|assistant|>\n");
        return sb.toString();
    }
}
