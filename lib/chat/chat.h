/* Built-in chat templates: family detection from GGUF metadata and prefix-stable rendering
 * of a message list into markup/content segments (see docs/chat-templates.md). */
#ifndef SLLM_CHAT_CHAT_H
#define SLLM_CHAT_CHAT_H

#include <stddef.h>

#include "core/error.h"

/* Template families. Rendering rules mirror llama.cpp's llm_chat_apply_template
 * (src/llama-chat.cpp), expressed per message. */
typedef enum chat_template_kind {
    CHAT_TEMPLATE_NONE = 0,
    CHAT_TEMPLATE_CHATML,            /* "chatml": Qwen, SmolLM, OpenHermes */
    CHAT_TEMPLATE_LLAMA2,            /* "llama2": [INST] without <<SYS>> */
    CHAT_TEMPLATE_LLAMA2_SYS,        /* "llama2-sys": [INST] <<SYS>> ... */
    CHAT_TEMPLATE_LLAMA2_SYS_BOS,    /* "llama2-sys-bos": <s>[INST] inside history */
    CHAT_TEMPLATE_LLAMA2_SYS_STRIP,  /* "llama2-sys-strip": contents trimmed */
    CHAT_TEMPLATE_LLAMA3,            /* "llama3" */
    CHAT_TEMPLATE_MISTRAL_V1,        /* "mistral-v1" */
    CHAT_TEMPLATE_MISTRAL_V3,        /* "mistral-v3" */
    CHAT_TEMPLATE_MISTRAL_V3_TEKKEN, /* "mistral-v3-tekken" */
    CHAT_TEMPLATE_MISTRAL_V7,        /* "mistral-v7" */
    CHAT_TEMPLATE_MISTRAL_V7_TEKKEN, /* "mistral-v7-tekken" (by name only) */
    CHAT_TEMPLATE_GEMMA,             /* "gemma" */
    CHAT_TEMPLATE_PHI3,              /* "phi3" */
    CHAT_TEMPLATE_ZEPHYR,            /* "zephyr" (stablelm-2-zephyr: <|endoftext|>) */
    CHAT_TEMPLATE_DEEPSEEK,          /* "deepseek": deepseek-coder ### Instruction: */
    CHAT_TEMPLATE_DEEPSEEK2,         /* "deepseek2" */
    CHAT_TEMPLATE_DEEPSEEK3,         /* "deepseek3" */
    CHAT_TEMPLATE_COUNT
} chat_template_kind;

typedef enum chat_role {
    CHAT_ROLE_SYSTEM = 0,
    CHAT_ROLE_USER = 1,
    CHAT_ROLE_ASSISTANT = 2,
    CHAT_ROLE_TOOL = 3,   /* only chatml, llama3, phi3, zephyr accept it */
    CHAT_ROLE_COUNT
} chat_role;

/* One message. content need not be NUL-terminated; it must stay alive as long as any
 * chat_rendered made from it (content segments point into it). */
typedef struct chat_message {
    chat_role role;
    const char *content;
    size_t content_len;
} chat_message;

/* One piece of rendered text. Markup (role headers, end-of-turn, special tokens) is to be
 * tokenized with special-token parsing ON; content with it OFF, so a user typing
 * "<|im_end|>" never produces a control token. */
typedef struct chat_segment {
    const char *text;
    size_t len;
    int is_special_markup;  /* 1: template markup; 0: message content */
    int message_index;      /* content: the message it comes from; markup: -1 */
    int turn_index;         /* the message whose turn emitted this segment (markup and content
                             * alike; Gemma emits a system prompt inside the next user's turn);
                             * the generation prompt has turn_index == n_messages */
} chat_segment;

/* Owns the segment array and the markup text; content segments point into the
 * caller's messages. */
typedef struct chat_rendered {
    chat_segment *segments;
    size_t n_segments;
    size_t total_len;       /* sum of the segments' lengths */
    char *markup;           /* storage for markup text */
} chat_rendered;

/* Parses "system", "user", "assistant", "tool" (exact, case-sensitive). Anything else:
 * SLLM_ERR_INVALID_ROLE naming the role. */
sllm_status chat_role_from_name(const char *name, size_t len, chat_role *out);
const char *chat_role_name(chat_role role);

/* Recognises the family of a Jinja chat template (tokenizer.chat_template) by distinctive
 * substrings, as llama.cpp's llm_chat_detect_template does; a template text that is exactly
 * a family name ("chatml") also selects it. NULL/empty text or no built-in match:
 * SLLM_ERR_CHAT_TEMPLATE with a message saying which. */
sllm_status chat_template_detect(const char *template_text, size_t len, chat_template_kind *out);

/* Family by name ("chatml", "llama2", ..., see chat_template_kind). Unknown name:
 * SLLM_ERR_CHAT_TEMPLATE listing the known names. */
sllm_status chat_template_from_name(const char *name, chat_template_kind *out);

/* The engine's choice: `name` when non-NULL and non-empty, else detection from the
 * model's template text (which may be NULL when the model has none). */
sllm_status chat_template_select(const char *name, const char *template_text, size_t template_len,
                                 chat_template_kind *out);

/* Name of a family ("chatml"), or NULL for NONE/out of range. Static storage. */
const char *chat_template_name(chat_template_kind kind);

/* The end-of-turn string the model emits after a reply ("<|im_end|>", "<|eot_id|>",
 * "</s>", ...), for the engine to map to a stop token. Static storage; NULL when unknown. */
const char *chat_template_stop_string(chat_template_kind kind);

/* 1 when rendered text begins with the BOS token text. No built-in family does: as in
 * llama.cpp, BOS is left to the tokenizer (add the model's BOS when tokenizer.add_bos is
 * set). */
int chat_template_includes_bos(chat_template_kind kind);

/* 1 for families whose template writes one space between the assistant header and the reply
 * while the generation prompt stops before it (mistral-v1/v3/v7, deepseek2): the model
 * generates that space as part of its first token. Rendering a stored reply writes the
 * space itself, so the reply must be stored without it (strip one leading space from the
 * generated text) for history to re-render as a prefix. */
int chat_template_reply_has_leading_space(chat_template_kind kind);

/* Renders messages[0..n_messages) (n_messages >= 1) and, when add_generation_prompt, the
 * header that starts the assistant's reply. Prefix-stable: with R = the reply as stored,
 * render(m[0..n], gen=1) + (leading space flag ? " " : "") + R is a prefix of
 * render(m[0..n] + {assistant, R} + more, *), segment by segment up to the generation
 * prompt. Errors: INVALID_ARGUMENT (NULL, bad kind, content NULL with length > 0),
 * INVALID_REQUEST (no messages), INVALID_ROLE (role unknown or unsupported by the family,
 * naming it and the message index), INVALID_UTF8 (naming the message index and byte
 * offset), OUT_OF_MEMORY. On failure *out is left empty. */
sllm_status chat_render(chat_template_kind kind, const chat_message *messages, size_t n_messages,
                        int add_generation_prompt, chat_rendered *out);

/* Concatenates all segments into a malloc'd NUL-terminated string (caller frees). */
sllm_status chat_rendered_text(const chat_rendered *rendered, char **text, size_t *len);

/* Frees what chat_render allocated and zeroes *rendered. NULL is allowed. */
void chat_rendered_free(chat_rendered *rendered);

#endif
