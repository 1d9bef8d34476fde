/* Chat template families: detection by substrings and per-message, prefix-stable rendering. */
#include "chat/chat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/unicode.h"

enum { ROLE_MASK_ALL3 = (1u << CHAT_ROLE_SYSTEM) | (1u << CHAT_ROLE_USER) | (1u << CHAT_ROLE_ASSISTANT),
       ROLE_MASK_ALL4 = ROLE_MASK_ALL3 | (1u << CHAT_ROLE_TOOL) };

/* How one family renders. Every message renders as pre[role] + content + post[role]. The
 * [INST]-style families also open a turn (turn_open) before a message when no turn is
 * open; an assistant message closes the turn. Gemma defers system prompts into the next
 * user turn. The rules are llama.cpp's llm_chat_apply_template, split per message. */
typedef struct chat_family {
    const char *name;
    const char *stop;
    const char *pre[CHAT_ROLE_COUNT];
    const char *post[CHAT_ROLE_COUNT];
    const char *generation_prompt;
    const char *turn_open_first;  /* NULL: the family has no turn state */
    const char *turn_open_later;
    unsigned roles;               /* bit per supported chat_role */
    unsigned trim_roles;          /* bit per role whose content is trimmed */
    int fold_system;              /* Gemma */
    int reply_space;
} chat_family;

#define ROLE_BIT(role) (1u << (role))

static const chat_family chat_families[CHAT_TEMPLATE_COUNT] = {
    [CHAT_TEMPLATE_CHATML] = {
        .name = "chatml", .stop = "<|im_end|>",
        .pre = {"<|im_start|>system\n", "<|im_start|>user\n", "<|im_start|>assistant\n", "<|im_start|>tool\n"},
        .post = {"<|im_end|>\n", "<|im_end|>\n", "<|im_end|>\n", "<|im_end|>\n"},
        .generation_prompt = "<|im_start|>assistant\n", .roles = ROLE_MASK_ALL4,
    },
    [CHAT_TEMPLATE_LLAMA2] = {
        .name = "llama2", .stop = "</s>",
        .pre = {"", "", "", NULL}, .post = {"\n", " [/INST]", "</s>", NULL},
        .generation_prompt = "", .turn_open_first = "[INST] ", .turn_open_later = "[INST] ",
        .roles = ROLE_MASK_ALL3,
    },
    [CHAT_TEMPLATE_LLAMA2_SYS] = {
        .name = "llama2-sys", .stop = "</s>",
        .pre = {"<<SYS>>\n", "", "", NULL}, .post = {"\n<</SYS>>\n\n", " [/INST]", "</s>", NULL},
        .generation_prompt = "", .turn_open_first = "[INST] ", .turn_open_later = "[INST] ",
        .roles = ROLE_MASK_ALL3,
    },
    [CHAT_TEMPLATE_LLAMA2_SYS_BOS] = {
        .name = "llama2-sys-bos", .stop = "</s>",
        .pre = {"<<SYS>>\n", "", "", NULL}, .post = {"\n<</SYS>>\n\n", " [/INST]", "</s>", NULL},
        .generation_prompt = "", .turn_open_first = "[INST] ", .turn_open_later = "<s>[INST] ",
        .roles = ROLE_MASK_ALL3,
    },
    [CHAT_TEMPLATE_LLAMA2_SYS_STRIP] = {
        .name = "llama2-sys-strip", .stop = "</s>",
        .pre = {"<<SYS>>\n", "", "", NULL}, .post = {"\n<</SYS>>\n\n", " [/INST]", "</s>", NULL},
        .generation_prompt = "", .turn_open_first = "[INST] ", .turn_open_later = "[INST] ",
        .roles = ROLE_MASK_ALL3, .trim_roles = ROLE_MASK_ALL3,
    },
    [CHAT_TEMPLATE_LLAMA3] = {
        .name = "llama3", .stop = "<|eot_id|>",
        .pre = {"<|start_header_id|>system<|end_header_id|>\n\n", "<|start_header_id|>user<|end_header_id|>\n\n",
                "<|start_header_id|>assistant<|end_header_id|>\n\n", "<|start_header_id|>tool<|end_header_id|>\n\n"},
        .post = {"<|eot_id|>", "<|eot_id|>", "<|eot_id|>", "<|eot_id|>"},
        .generation_prompt = "<|start_header_id|>assistant<|end_header_id|>\n\n",
        .roles = ROLE_MASK_ALL4, .trim_roles = ROLE_MASK_ALL4,
    },
    [CHAT_TEMPLATE_MISTRAL_V1] = {
        .name = "mistral-v1", .stop = "</s>",
        .pre = {"", "", " ", NULL}, .post = {"\n\n", " [/INST]", "</s>", NULL},
        .generation_prompt = "", .turn_open_first = " [INST] ", .turn_open_later = " [INST] ",
        .roles = ROLE_MASK_ALL3, .reply_space = 1,
    },
    [CHAT_TEMPLATE_MISTRAL_V3] = {
        .name = "mistral-v3", .stop = "</s>",
        .pre = {"", "", " ", NULL}, .post = {"\n\n", "[/INST]", "</s>", NULL},
        .generation_prompt = "", .turn_open_first = "[INST] ", .turn_open_later = "[INST] ",
        .roles = ROLE_MASK_ALL3, .trim_roles = ROLE_BIT(CHAT_ROLE_ASSISTANT), .reply_space = 1,
    },
    [CHAT_TEMPLATE_MISTRAL_V3_TEKKEN] = {
        .name = "mistral-v3-tekken", .stop = "</s>",
        .pre = {"", "", "", NULL}, .post = {"\n\n", "[/INST]", "</s>", NULL},
        .generation_prompt = "", .turn_open_first = "[INST]", .turn_open_later = "[INST]",
        .roles = ROLE_MASK_ALL3,
    },
    [CHAT_TEMPLATE_MISTRAL_V7] = {
        .name = "mistral-v7", .stop = "</s>",
        .pre = {"[SYSTEM_PROMPT] ", "[INST] ", " ", NULL}, .post = {"[/SYSTEM_PROMPT]", "[/INST]", "</s>", NULL},
        .generation_prompt = "", .roles = ROLE_MASK_ALL3, .reply_space = 1,
    },
    [CHAT_TEMPLATE_MISTRAL_V7_TEKKEN] = {
        .name = "mistral-v7-tekken", .stop = "</s>",
        .pre = {"[SYSTEM_PROMPT]", "[INST]", "", NULL}, .post = {"[/SYSTEM_PROMPT]", "[/INST]", "</s>", NULL},
        .generation_prompt = "", .roles = ROLE_MASK_ALL3,
    },
    [CHAT_TEMPLATE_GEMMA] = {
        .name = "gemma", .stop = "<end_of_turn>",
        .pre = {"", "<start_of_turn>user\n", "<start_of_turn>model\n", NULL},
        .post = {"", "<end_of_turn>\n", "<end_of_turn>\n", NULL},
        .generation_prompt = "<start_of_turn>model\n",
        .roles = ROLE_MASK_ALL3, .trim_roles = ROLE_MASK_ALL3, .fold_system = 1,
    },
    [CHAT_TEMPLATE_PHI3] = {
        .name = "phi3", .stop = "<|end|>",
        .pre = {"<|system|>\n", "<|user|>\n", "<|assistant|>\n", "<|tool|>\n"},
        .post = {"<|end|>\n", "<|end|>\n", "<|end|>\n", "<|end|>\n"},
        .generation_prompt = "<|assistant|>\n", .roles = ROLE_MASK_ALL4,
    },
    [CHAT_TEMPLATE_ZEPHYR] = {
        .name = "zephyr", .stop = "<|endoftext|>",
        .pre = {"<|system|>\n", "<|user|>\n", "<|assistant|>\n", "<|tool|>\n"},
        .post = {"<|endoftext|>\n", "<|endoftext|>\n", "<|endoftext|>\n", "<|endoftext|>\n"},
        .generation_prompt = "<|assistant|>\n", .roles = ROLE_MASK_ALL4,
    },
    [CHAT_TEMPLATE_DEEPSEEK] = {
        .name = "deepseek", .stop = "<|EOT|>",
        .pre = {"", "### Instruction:\n", "### Response:\n", NULL},
        .post = {"", "\n", "\n<|EOT|>\n", NULL},
        .generation_prompt = "### Response:\n", .roles = ROLE_MASK_ALL3,
    },
    [CHAT_TEMPLATE_DEEPSEEK2] = {
        .name = "deepseek2", .stop = "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
        .pre = {"", "User: ", "Assistant: ", NULL},
        .post = {"\n\n", "\n\n", "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", NULL},
        .generation_prompt = "Assistant:", .roles = ROLE_MASK_ALL3, .reply_space = 1,
    },
    [CHAT_TEMPLATE_DEEPSEEK3] = {
        .name = "deepseek3", .stop = "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
        .pre = {"", "<\xef\xbd\x9cUser\xef\xbd\x9c>", "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>", NULL},
        .post = {"\n\n", "", "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", NULL},
        .generation_prompt = "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>", .roles = ROLE_MASK_ALL3,
    },
};

static const char *const chat_role_names[CHAT_ROLE_COUNT] = {"system", "user", "assistant", "tool"};

sllm_status chat_role_from_name(const char *name, size_t len, chat_role *out) {
    if (!out || (!name && len > 0)) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "chat_role_from_name: NULL argument");
    for (int role = 0; role < CHAT_ROLE_COUNT; role++) {
        if (strlen(chat_role_names[role]) == len && memcmp(chat_role_names[role], name, len) == 0) {
            *out = (chat_role)role;
            return SLLM_OK;
        }
    }
    return core_fail(SLLM_ERR_INVALID_ROLE, "unknown role '%.*s' (expected system, user, assistant or tool)",
                     (int)(len > 64 ? 64 : len), name ? name : "");
}

const char *chat_role_name(chat_role role) {
    return (unsigned)role < CHAT_ROLE_COUNT ? chat_role_names[role] : NULL;
}

const char *chat_template_name(chat_template_kind kind) {
    return (kind > CHAT_TEMPLATE_NONE && kind < CHAT_TEMPLATE_COUNT) ? chat_families[kind].name : NULL;
}

const char *chat_template_stop_string(chat_template_kind kind) {
    return (kind > CHAT_TEMPLATE_NONE && kind < CHAT_TEMPLATE_COUNT) ? chat_families[kind].stop : NULL;
}

int chat_template_includes_bos(chat_template_kind kind) {
    (void)kind;
    return 0;
}

int chat_template_reply_has_leading_space(chat_template_kind kind) {
    return (kind > CHAT_TEMPLATE_NONE && kind < CHAT_TEMPLATE_COUNT) ? chat_families[kind].reply_space : 0;
}

sllm_status chat_template_from_name(const char *name, chat_template_kind *out) {
    if (!name || !out) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "chat_template_from_name: NULL argument");
    for (int kind = CHAT_TEMPLATE_NONE + 1; kind < CHAT_TEMPLATE_COUNT; kind++) {
        if (strcmp(chat_families[kind].name, name) == 0) {
            *out = (chat_template_kind)kind;
            return SLLM_OK;
        }
    }
    return core_fail(SLLM_ERR_CHAT_TEMPLATE,
                     "unknown chat template name '%.64s' (built in: chatml, llama2, llama2-sys, llama2-sys-bos, "
                     "llama2-sys-strip, llama3, mistral-v1, mistral-v3, mistral-v3-tekken, mistral-v7, "
                     "mistral-v7-tekken, gemma, phi3, zephyr, deepseek, deepseek2, deepseek3)", name);
}

/* ---- Detection ------------------------------------------------------------------ */

typedef struct chat_haystack {
    const char *text;
    size_t len;
} chat_haystack;

static int chat_contains(chat_haystack hay, const char *needle) {
    size_t needle_len = strlen(needle);
    if (needle_len > hay.len) return 0;
    for (size_t i = 0; i + needle_len <= hay.len; i++)
        if (hay.text[i] == needle[0] && memcmp(hay.text + i, needle, needle_len) == 0) return 1;
    return 0;
}

static int chat_starts_with(chat_haystack hay, const char *prefix) {
    size_t prefix_len = strlen(prefix);
    return prefix_len <= hay.len && memcmp(hay.text, prefix, prefix_len) == 0;
}

static chat_template_kind chat_detect_inst_family(chat_haystack hay) {
    if (chat_contains(hay, "[SYSTEM_PROMPT]")) return CHAT_TEMPLATE_MISTRAL_V7;
    if (chat_contains(hay, "' [INST] ' + system_message") || chat_contains(hay, "[AVAILABLE_TOOLS]")) {
        if (chat_contains(hay, " [INST]")) return CHAT_TEMPLATE_MISTRAL_V1;
        if (chat_contains(hay, "\"[INST]\"")) return CHAT_TEMPLATE_MISTRAL_V3_TEKKEN;
        return CHAT_TEMPLATE_MISTRAL_V3;
    }
    if (chat_contains(hay, "content.strip()")) return CHAT_TEMPLATE_LLAMA2_SYS_STRIP;
    if (chat_contains(hay, "bos_token + '[INST]")) return CHAT_TEMPLATE_LLAMA2_SYS_BOS;
    if (chat_contains(hay, "<<SYS>>")) return CHAT_TEMPLATE_LLAMA2_SYS;
    return CHAT_TEMPLATE_LLAMA2;
}

/* llama.cpp recognises these too, but they are not built in here; naming them makes the
 * error useful. Checked in llama.cpp's order so that a template is attributed to the same
 * family llama.cpp would pick. */
static const char *chat_detect_unsupported(chat_haystack hay) {
    if (chat_contains(hay, "[gMASK]<sop>")) return "chatglm4";
    if (chat_contains(hay, "<|assistant|>") && chat_contains(hay, "<|user|>"))
        return chat_contains(hay, "</s>") ? "falcon3" : "glmedge";
    return NULL;
}

sllm_status chat_template_detect(const char *template_text, size_t len, chat_template_kind *out) {
    if (!out) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "chat_template_detect: NULL output");
    if (!template_text || len == 0)
        return core_fail(SLLM_ERR_CHAT_TEMPLATE,
                         "the model has no chat template (tokenizer.chat_template); choose one by name");
    chat_haystack hay = {template_text, len};
    chat_template_kind kind = CHAT_TEMPLATE_NONE;
    const char *unsupported = NULL;
    for (int k = CHAT_TEMPLATE_NONE + 1; k < CHAT_TEMPLATE_COUNT; k++) {
        if (strlen(chat_families[k].name) == len && memcmp(chat_families[k].name, template_text, len) == 0) {
            *out = (chat_template_kind)k;
            return SLLM_OK;
        }
    }
    if (chat_contains(hay, "<|im_start|>")) {
        if (chat_contains(hay, "<|im_sep|>")) unsupported = "phi4";
        else if (chat_contains(hay, "<end_of_utterance>")) unsupported = "smolvlm";
        else kind = CHAT_TEMPLATE_CHATML;
    } else if (chat_starts_with(hay, "mistral") || chat_contains(hay, "[INST]")) {
        kind = chat_detect_inst_family(hay);
    } else if (chat_contains(hay, "<|assistant|>") && chat_contains(hay, "<|end|>")) {
        kind = CHAT_TEMPLATE_PHI3;
    } else if (chat_contains(hay, "<|user|>") && chat_contains(hay, "<|endoftext|>")) {
        /* Checked before falcon3/glmedge (unlike llama.cpp), so that a zephyr template that
         * also spells out <|assistant|> is still recognised. */
        kind = CHAT_TEMPLATE_ZEPHYR;
    } else if ((unsupported = chat_detect_unsupported(hay)) != NULL) {
        /* named below */
    } else if (chat_contains(hay, "bos_token + message['role']")) {
        unsupported = "monarch";
    } else if (chat_contains(hay, "<start_of_turn>")) {
        kind = CHAT_TEMPLATE_GEMMA;
    } else if (chat_contains(hay, "### Instruction:") && chat_contains(hay, "<|EOT|>")) {
        kind = CHAT_TEMPLATE_DEEPSEEK;
    } else if (chat_contains(hay, "<|START_OF_TURN_TOKEN|>") && chat_contains(hay, "<|USER_TOKEN|>")) {
        unsupported = "command-r";
    } else if (chat_contains(hay, "<|start_header_id|>") && chat_contains(hay, "<|end_header_id|>")) {
        kind = CHAT_TEMPLATE_LLAMA3;
    } else if (chat_contains(hay, "'Assistant: ' + message['content'] + eos_token")) {
        kind = CHAT_TEMPLATE_DEEPSEEK2;
    } else if (chat_contains(hay, "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>") &&
               chat_contains(hay, "<\xef\xbd\x9cUser\xef\xbd\x9c>") &&
               chat_contains(hay, "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>")) {
        kind = CHAT_TEMPLATE_DEEPSEEK3;
    }
    if (kind != CHAT_TEMPLATE_NONE) {
        *out = kind;
        return SLLM_OK;
    }
    if (unsupported)
        return core_fail(SLLM_ERR_CHAT_TEMPLATE,
                         "the model's chat template looks like '%s', which is not built in; choose one by name",
                         unsupported);
    return core_fail(SLLM_ERR_CHAT_TEMPLATE,
                     "the model's chat template (%zu bytes) matches no built-in family; choose one by name", len);
}

sllm_status chat_template_select(const char *name, const char *template_text, size_t template_len,
                                 chat_template_kind *out) {
    if (name && name[0] != '\0') return chat_template_from_name(name, out);
    return chat_template_detect(template_text, template_len, out);
}

/* ---- Rendering ------------------------------------------------------------------ */

typedef struct chat_builder {
    chat_segment *segments;   /* markup segments hold their offset in markup_offset until the end */
    size_t *markup_offset;
    size_t n_segments, cap_segments;
    char *markup;
    size_t markup_len, markup_cap;
    size_t total_len;
} chat_builder;

static sllm_status chat_reserve_segment(chat_builder *b) {
    if (b->n_segments < b->cap_segments) return SLLM_OK;
    size_t cap = b->cap_segments ? b->cap_segments * 2 : 16;
    chat_segment *segments = realloc(b->segments, cap * sizeof *segments);
    if (!segments) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "chat_render: out of memory");
    b->segments = segments;
    size_t *offsets = realloc(b->markup_offset, cap * sizeof *offsets);
    if (!offsets) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "chat_render: out of memory");
    b->markup_offset = offsets;
    b->cap_segments = cap;
    return SLLM_OK;
}

/* Markup of one turn is kept in one segment; markup of different turns never merges, so the
 * generation prompt tokenizes exactly like the assistant header it stands for. */
static sllm_status chat_add_markup(chat_builder *b, const char *text, int turn_index) {
    size_t len = strlen(text);
    if (len == 0) return SLLM_OK;
    if (b->markup_len + len > b->markup_cap) {
        size_t cap = b->markup_cap ? b->markup_cap : 256;
        while (cap < b->markup_len + len) cap *= 2;
        char *markup = realloc(b->markup, cap);
        if (!markup) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "chat_render: out of memory");
        b->markup = markup;
        b->markup_cap = cap;
    }
    memcpy(b->markup + b->markup_len, text, len);
    b->total_len += len;
    if (b->n_segments > 0) {
        chat_segment *last = &b->segments[b->n_segments - 1];
        if (last->is_special_markup && last->turn_index == turn_index &&
            b->markup_offset[b->n_segments - 1] + last->len == b->markup_len) {
            last->len += len;
            b->markup_len += len;
            return SLLM_OK;
        }
    }
    sllm_status status = chat_reserve_segment(b);
    if (status != SLLM_OK) return status;
    b->markup_offset[b->n_segments] = b->markup_len;
    b->segments[b->n_segments++] = (chat_segment){NULL, len, 1, -1, turn_index};
    b->markup_len += len;
    return SLLM_OK;
}

static sllm_status chat_add_content(chat_builder *b, const char *text, size_t len, int message_index,
                                    int turn_index) {
    if (len == 0) return SLLM_OK;
    sllm_status status = chat_reserve_segment(b);
    if (status != SLLM_OK) return status;
    b->markup_offset[b->n_segments] = 0;
    b->segments[b->n_segments++] = (chat_segment){text, len, 0, message_index, turn_index};
    b->total_len += len;
    return SLLM_OK;
}

/* llama.cpp's trim(): C-locale isspace at both ends. */
static int chat_is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static void chat_trim(const char **text, size_t *len) {
    const char *start = *text;
    size_t n = *len;
    while (n > 0 && chat_is_space(start[0])) {
        start++;
        n--;
    }
    while (n > 0 && chat_is_space(start[n - 1])) n--;
    *text = start;
    *len = n;
}

static sllm_status chat_validate(const chat_family *family, const chat_message *messages, size_t n_messages) {
    for (size_t i = 0; i < n_messages; i++) {
        const chat_message *message = &messages[i];
        if ((unsigned)message->role >= CHAT_ROLE_COUNT)
            return core_fail(SLLM_ERR_INVALID_ROLE, "messages[%zu]: unknown role %d", i, (int)message->role);
        if (!(family->roles & ROLE_BIT(message->role)))
            return core_fail(SLLM_ERR_INVALID_ROLE, "messages[%zu]: role '%s' is not supported by the '%s' chat template",
                             i, chat_role_names[message->role], family->name);
        if (!message->content && message->content_len > 0)
            return core_fail(SLLM_ERR_INVALID_ARGUMENT, "messages[%zu]: content is NULL with length %zu", i,
                             message->content_len);
        size_t valid = message->content_len
                           ? unicode_utf8_valid_prefix((const uint8_t *)message->content, message->content_len)
                           : 0;
        if (valid != message->content_len)
            return core_fail(SLLM_ERR_INVALID_UTF8, "messages[%zu]: content is not valid UTF-8 (at byte %zu)", i, valid);
    }
    return SLLM_OK;
}

typedef struct chat_render_state {
    const chat_family *family;
    const chat_message *messages;
    int turn_open;             /* [INST] families: inside an open [INST] turn */
    size_t first_pending_system;  /* Gemma: system messages [first, index) not yet emitted */
    int have_pending_system;
} chat_render_state;

static void chat_message_text(const chat_render_state *state, size_t index, const char **text, size_t *len) {
    const chat_message *message = &state->messages[index];
    *text = message->content;
    *len = message->content_len;
    if (state->family->trim_roles & ROLE_BIT(message->role)) chat_trim(text, len);
}

/* Gemma has no system role: system prompts (trimmed, concatenated) open the next user turn,
 * followed by a blank line. */
static sllm_status chat_emit_pending_system(chat_builder *b, chat_render_state *state, size_t index) {
    int emitted = 0;
    for (size_t s = state->first_pending_system; s < index; s++) {
        if (state->messages[s].role != CHAT_ROLE_SYSTEM) continue;
        const char *text;
        size_t len;
        chat_message_text(state, s, &text, &len);
        sllm_status status = chat_add_content(b, text, len, (int)s, (int)index);
        if (status != SLLM_OK) return status;
        emitted |= len > 0;
    }
    state->have_pending_system = 0;
    return emitted ? chat_add_markup(b, "\n\n", (int)index) : SLLM_OK;
}

static sllm_status chat_render_message(chat_builder *b, chat_render_state *state, size_t index) {
    const chat_family *family = state->family;
    chat_role role = state->messages[index].role;
    sllm_status status;
    if (family->fold_system && role == CHAT_ROLE_SYSTEM) {
        if (!state->have_pending_system) state->first_pending_system = index;
        state->have_pending_system = 1;
        return SLLM_OK;
    }
    if (family->turn_open_first && !state->turn_open) {
        status = chat_add_markup(b, index == 0 ? family->turn_open_first : family->turn_open_later, (int)index);
        if (status != SLLM_OK) return status;
        state->turn_open = 1;
    }
    status = chat_add_markup(b, family->pre[role], (int)index);
    if (status != SLLM_OK) return status;
    if (family->fold_system && state->have_pending_system && role != CHAT_ROLE_ASSISTANT) {
        status = chat_emit_pending_system(b, state, index);
        if (status != SLLM_OK) return status;
    }
    const char *text;
    size_t len;
    chat_message_text(state, index, &text, &len);
    status = chat_add_content(b, text, len, (int)index, (int)index);
    if (status != SLLM_OK) return status;
    if (role == CHAT_ROLE_ASSISTANT) state->turn_open = 0;
    return chat_add_markup(b, family->post[role], (int)index);
}

static void chat_builder_free(chat_builder *b) {
    free(b->segments);
    free(b->markup_offset);
    free(b->markup);
}

sllm_status chat_render(chat_template_kind kind, const chat_message *messages, size_t n_messages,
                        int add_generation_prompt, chat_rendered *out) {
    if (!out) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "chat_render: NULL output");
    memset(out, 0, sizeof *out);
    if (kind <= CHAT_TEMPLATE_NONE || kind >= CHAT_TEMPLATE_COUNT)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "chat_render: invalid template kind %d", (int)kind);
    if (n_messages == 0) return core_fail(SLLM_ERR_INVALID_REQUEST, "chat_render: no messages");
    if (!messages) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "chat_render: NULL messages");
    if (n_messages > INT32_MAX) return core_fail(SLLM_ERR_INVALID_REQUEST, "chat_render: too many messages");
    const chat_family *family = &chat_families[kind];
    sllm_status status = chat_validate(family, messages, n_messages);
    if (status != SLLM_OK) return status;

    chat_builder b = {0};
    chat_render_state state = {.family = family, .messages = messages};
    for (size_t i = 0; i < n_messages; i++) {
        status = chat_render_message(&b, &state, i);
        if (status != SLLM_OK) goto fail;
    }
    if (add_generation_prompt) {
        status = chat_add_markup(&b, family->generation_prompt, (int)n_messages);
        if (status != SLLM_OK) goto fail;
    }
    for (size_t i = 0; i < b.n_segments; i++)
        if (b.segments[i].is_special_markup) b.segments[i].text = b.markup + b.markup_offset[i];
    free(b.markup_offset);
    out->segments = b.segments;
    out->n_segments = b.n_segments;
    out->total_len = b.total_len;
    out->markup = b.markup;
    return SLLM_OK;
fail:
    chat_builder_free(&b);
    return status;
}

sllm_status chat_rendered_text(const chat_rendered *rendered, char **text, size_t *len) {
    if (!rendered || !text) return core_fail(SLLM_ERR_INVALID_ARGUMENT, "chat_rendered_text: NULL argument");
    char *buffer = malloc(rendered->total_len + 1);
    if (!buffer) return core_fail(SLLM_ERR_OUT_OF_MEMORY, "chat_rendered_text: out of memory");
    size_t pos = 0;
    for (size_t i = 0; i < rendered->n_segments; i++) {
        memcpy(buffer + pos, rendered->segments[i].text, rendered->segments[i].len);
        pos += rendered->segments[i].len;
    }
    buffer[pos] = '\0';
    *text = buffer;
    if (len) *len = pos;
    return SLLM_OK;
}

void chat_rendered_free(chat_rendered *rendered) {
    if (!rendered) return;
    free(rendered->segments);
    free(rendered->markup);
    memset(rendered, 0, sizeof *rendered);
}
