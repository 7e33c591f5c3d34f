#!/usr/bin/env python3
"""gen_corpus.py - deterministic synthetic chat-log corpus for the loopcheck
benchmark (bench/run).

Writes about N MB of JSONL in OpenAI chat format, one conversation per
line: {"id": "...", "messages": [{"role": ..., "content": ...}, ...]}.
Python 3 standard library only; the same --seed and --mb give the same
bytes, and a smaller corpus is a prefix of a larger one with the same seed.

What is in it (all text is generated procedurally from a made-up
vocabulary plus English function words; nothing is copied from a data set):
  - 2..40 turns per conversation; turn lengths log-normal, clipped to
    20 B .. 4 KB, median near 400 B (user turns shorter than assistant ones);
  - about 5% of turns with non-ASCII text (curly quotes, accents, CJK,
    emoji, full-width letters, ellipsis), about 1 in 4 conversations written
    with \\uXXXX escapes, and JSON escapes everywhere (\\n, \\", \\t, \\\\);
  - about 3% conversations with loops: exact repeated assistant turns
    (period 1 or 2), recycled paragraphs, a word or sentence spammed;
  - about 5% conversations with refusals in several styles: apology,
    decline, AI disclaimer, policy, discomfort, privacy, professional and
    crisis-hotline redirects, filtered (empty) replies, non-English ones,
    partial refusals, refusal loops against user pushback, refusal onset;
  - about 8% agent conversations with tool_calls and tool messages: polling
    and edit/test cycles whose observations change (legitimate), and stuck
    agents (same call, same error, alternating with a reworded thought).

Usage:
  gen_corpus.py --mb 10 --seed 1 -o corpus.jsonl [--stats] [--labels F]
  gen_corpus.py --mb 2 --seed 1 --transcript DIR   (one "Speaker: text"
                                                    transcript file per
                                                    conversation)
"""

import argparse
import json
import math
import os
import random
import sys

# --------------------------------------------------------------------------
# Vocabulary (procedural)
# --------------------------------------------------------------------------

FUNCTION_WORDS = (
    "the of and to a in is it you that for on with as this be are i not have "
    "can we or your but do if will what so about my me how there they at by "
    "from one all more when which their some would like just also out than "
    "then into only could other our time very them these may any first new "
    "because most over such where after should well even here way many much "
    "need make know think help see use take want good each try keep find"
).split()

ONSETS = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r",
          "s", "t", "v", "w", "z", "br", "cr", "dr", "st", "tr", "pl", "gr",
          "sh", "ch", "th", "fl", "sk", "sp", "qu", ""]
VOWELS = ["a", "e", "i", "o", "u", "a", "e", "o", "ai", "ea", "ou", "io",
          "ee", "y"]
CODAS = ["", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ng", "x",
         "ck", "rt", "ll"]

ACCENT = {"a": "\u00e1", "e": "\u00e9", "i": "\u00ed", "o": "\u00f3",
          "u": "\u00fc", "n": "\u00f1", "c": "\u00e7"}

EMOJI = [chr(c) for c in list(range(0x1F600, 0x1F640)) +
         list(range(0x1F680, 0x1F6A0)) + [0x2764, 0x2705, 0x1F44D, 0x1F389]]
CURLY = [("\u201c", "\u201d"), ("\u2018", "\u2019")]


class Vocab:
    def __init__(self, rng, size=24000):
        words = set()
        out = []
        while len(out) < size:
            n = rng.choice((1, 2, 2, 2, 3, 3, 4))
            w = "".join(rng.choice(ONSETS) + rng.choice(VOWELS)
                        for _ in range(n)) + rng.choice(CODAS)
            if len(w) < 2 or w in words:
                continue
            words.add(w)
            out.append(w)
        self.content = out
        # Zipf-like weights over content words, function words very common.
        cw = []
        acc = 0.0
        for r in range(len(out)):
            acc += 1.0 / (r + 40) ** 1.07
            cw.append(acc)
        self.content_cw = cw
        self.func = FUNCTION_WORDS
        # function words are Zipfian too ("the" far more common than "keep")
        acc = 0.0
        self.func_cw = []
        for r in range(len(FUNCTION_WORDS)):
            acc += 1.0 / (r + 1.5)
            self.func_cw.append(acc)
        # Phrase pool: short fragments reused across the corpus (as real
        # text reuses common phrases); sentences join 2..6 of them.
        frags = []
        for _ in range(60000):
            k = rng.choice((2, 3, 3, 4))
            ws = []
            for j in range(k):
                if rng.random() < 0.45:
                    ws.append(rng.choices(self.func,
                                          cum_weights=self.func_cw)[0])
                else:
                    ws.append(self.word(rng))
            frags.append(" ".join(ws))
        self.frags = frags

    def word(self, rng):
        return rng.choices(self.content, cum_weights=self.content_cw, k=1)[0]

    def words(self, rng, k):
        return rng.choices(self.content, cum_weights=self.content_cw, k=k)


# --------------------------------------------------------------------------
# Text building
# --------------------------------------------------------------------------

class Text:
    def __init__(self, rng, vocab):
        self.rng = rng
        self.v = vocab

    def sentence(self):
        rng = self.rng
        n = rng.randint(2, 6)
        s = " ".join(rng.choices(self.v.frags, k=n))
        # a few fresh words so no two sentences are the same
        w = self.v.words(rng, 2)
        s = s + " " + w[0] + " " + w[1]
        r = rng.random()
        if r < 0.08:
            s = s.replace(" ", ", ", 1)
        elif r < 0.12:
            a = self.v.word(rng)
            s = s + ' "' + a + '"'
        end = "." if r < 0.8 else ("?" if r < 0.92 else "!")
        return s[0].upper() + s[1:] + end

    def paragraph(self, target):
        parts = []
        size = 0
        while size < target:
            s = self.sentence()
            parts.append(s)
            size += len(s) + 1
        return " ".join(parts)

    def body(self, target, assistant):
        """A turn body of roughly `target` bytes (ASCII)."""
        rng = self.rng
        if target < 60:
            s = self.sentence()
            if len(s) > target:
                cut = s.rfind(" ", 0, target)
                s = s[:cut if cut > 0 else target].rstrip(",") + "?"
            return s
        paras = []
        size = 0
        while size < target:
            r = rng.random()
            left = target - size
            if assistant and r < 0.10 and left > 200:
                items = [self.sentence() for _ in range(rng.randint(3, 6))]
                mark = rng.choice(("- ", "* ", "1. "))
                p = "\n".join(mark + it for it in items)
            elif assistant and r < 0.14 and left > 200:
                name = self.v.word(rng)
                lines = ["def %s(x):" % name]
                for _ in range(rng.randint(2, 6)):
                    lines.append("    x = x + 1  # %s" % self.v.word(rng))
                lines.append("    return x")
                p = "```python\n" + "\n".join(lines) + "\n```"
            else:
                p = self.paragraph(min(left, rng.randint(150, 700)))
            paras.append(p)
            size += len(p) + 2
        t = "\n\n".join(paras)
        if len(t) > 4096:
            cut = t.rfind(". ", 0, 4090)
            t = t[:cut + 1] if cut > 0 else t[:4090]
        return t

    def non_ascii(self, text):
        """Sprinkle one kind of non-ASCII text into a turn."""
        rng = self.rng
        kind = rng.randrange(7)
        words = text.split(" ")
        if len(words) < 3:
            return text + " \u2014 caf\u00e9 \U0001F600"
        i = rng.randrange(1, len(words))
        if kind == 0:      # curly quotes and apostrophes
            o, c = rng.choice(CURLY)
            words[i] = o + words[i] + c
            j = rng.randrange(len(words))
            words[j] = "it\u2019s " + words[j]
        elif kind == 1:    # accented words
            for _ in range(rng.randint(1, 4)):
                j = rng.randrange(len(words))
                w = words[j]
                words[j] = "".join(ACCENT.get(ch, ch) if rng.random() < 0.3
                                   else ch for ch in w)
        elif kind == 2:    # CJK run
            cjk = "".join(chr(rng.randint(0x4E00, 0x9FA5))
                          for _ in range(rng.randint(4, 40)))
            if rng.random() < 0.3:
                cjk += "".join(chr(rng.randint(0x3041, 0x3093))
                               for _ in range(rng.randint(2, 10)))
            words.insert(i, cjk + "\u3002")
        elif kind == 3:    # emoji
            for _ in range(rng.randint(1, 3)):
                words.insert(rng.randrange(len(words) + 1), rng.choice(EMOJI))
        elif kind == 4:    # full-width letters and ellipsis (NFKC folds them)
            w = words[i]
            words[i] = "".join(chr(ord(ch) + 0xFEE0) if "a" <= ch <= "z"
                               else ch for ch in w) + "\u2026"
        elif kind == 5:    # dashes, non-breaking and zero-width spaces
            words[i] = words[i] + "\u00a0\u2014\u200b"
        else:              # Cyrillic / Greek words
            base = 0x0430 if rng.random() < 0.5 else 0x03B1
            words.insert(i, "".join(chr(base + rng.randrange(24))
                                    for _ in range(rng.randint(3, 9))))
        return " ".join(words)


# --------------------------------------------------------------------------
# Canned text (written for this benchmark)
# --------------------------------------------------------------------------

APOS = ("'", "\u2019")


def refusal_text(rng, style, topic):
    a = rng.choice(APOS)
    that = rng.choice(("that", "this request", "that request",
                       "requests like this"))
    if style == "apology":
        return rng.choice((
            "I%sm sorry, but I can%st help with %s." % (a, a, that),
            "I%sm sorry, but I cannot assist with %s." % (a, that),
            "Sorry, I can%st provide information about %s." % (a, topic),
            "I apologize, but I%sm unable to help with %s." % (a, that)))
    if style == "decline":
        return rng.choice((
            "I must decline to help with %s." % that,
            "I won%st be able to provide instructions for %s." % (a, topic),
            "I will not write %s." % that))
    if style == "ai":
        return rng.choice((
            "As an AI language model, I don%st have personal opinions, and "
            "I cannot provide %s." % (a, that),
            "As an AI, I am not able to make that decision for you.",
            "As an AI developed to be helpful and safe, I can%st help with "
            "%s." % (a, that)))
    if style == "policy":
        return rng.choice((
            "That request goes against my guidelines, so I can%st help "
            "with it." % a,
            "I%sm not able to help with %s because it violates the usage "
            "policy." % (a, that)))
    if style == "discomfort":
        return "I don%st feel comfortable writing about %s." % (a, topic)
    if style == "inappropriate":
        return "It is not appropriate for me to speculate about %s." % topic
    if style == "privacy":
        return ("I don%st have access to personal information about "
                "individuals, so I can%st look up %s." % (a, a, topic))
    if style == "professional":
        return ("I%sm not a substitute for professional advice. Please "
                "consult a licensed professional about %s." % (a, topic))
    if style == "crisis":
        return rng.choice((
            "It sounds like you%sre going through a lot right now. If you are "
            "in crisis, please call or text 988 to reach the Suicide and "
            "Crisis Lifeline. You don%st have to face this alone." % (a, a),
            "I%sm really sorry you%sre feeling this way, but I%sm not able to "
            "provide the help that you need. Please reach out to a crisis "
            "line such as 1-800-273-TALK or talk to someone you trust." %
            (a, a, a),
            "If you are thinking about harming yourself, please contact a "
            "crisis hotline right away. You don%st have to face this alone."
            % a))
    if style == "filtered":
        return ""
    if style == "foreign":
        return rng.choice((
            "Lo siento, pero no puedo ayudar con eso.",
            "Je suis d\u00e9sol\u00e9, mais je ne peux pas vous aider avec "
            "cela.",
            "Es tut mir leid, aber dabei kann ich nicht helfen.",
            "Desculpe, mas n\u00e3o posso ajudar com isso.",
            "Mi dispiace, ma non posso aiutarti con questo.",
            "\u62b1\u6b49\uff0c\u6211\u65e0\u6cd5\u5e2e\u52a9\u60a8\u5904"
            "\u7406\u8fd9\u4e2a\u8bf7\u6c42\u3002",
            "\u7533\u3057\u8a33\u3042\u308a\u307e\u305b\u3093\u304c\u3001"
            "\u305d\u306e\u30ea\u30af\u30a8\u30b9\u30c8\u306b\u306f\u304a"
            "\u5fdc\u3048\u3067\u304d\u307e\u305b\u3093\u3002"))
    raise ValueError(style)


REFUSAL_STYLES = ("apology", "apology", "decline", "ai", "policy",
                  "discomfort", "inappropriate", "privacy", "professional",
                  "crisis", "crisis", "filtered", "foreign")

PUSHBACK = (
    "I%sm not in crisis, I just asked about {t}.",
    "That%ss not what I asked. I want to know about {t}.",
    "Why won%st you answer? It%ss a simple question about {t}.",
    "Please just answer the question about {t}.",
    "You keep saying the same thing. I only need help with {t}.",
)

TRAPS = (
    "I%sm sorry to hear that. ",
    "I cannot stress enough how useful this is. ",
    "As an example, consider the following. ",
    "I can%st promise it will work every time, but here is the idea. ",
)

THINK = (
    "Let me think about this again.",
    "Hmm, let me reconsider the approach.",
    "Let me think about what went wrong here.",
    "I should step back and think about this differently.",
    "Let me reconsider; maybe I missed something.",
)


# --------------------------------------------------------------------------
# Conversation generator
# --------------------------------------------------------------------------

class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.v = Vocab(random.Random(seed * 7919 + 17))
        self.t = Text(self.rng, self.v)
        self.stats = {}
        self.n = 0
        self.call_id = 0

    # -- helpers -----------------------------------------------------------
    def length(self, role):
        # log-normal, clipped to 20 B .. 4 KB; overall median near 400 B
        mu = math.log(270) if role == "user" else math.log(720)
        x = int(self.rng.lognormvariate(mu, 0.95))
        return max(20, min(4096, x))

    def maybe_non_ascii(self, text):
        if text and self.rng.random() < 0.06:
            self.count("turns_non_ascii")
            return self.t.non_ascii(text)
        return text

    def turn(self, role):
        body = self.t.body(self.length(role), role == "assistant")
        if role == "assistant" and self.rng.random() < 0.01:
            body = (self.rng.choice(TRAPS).replace("%s", self.rng.choice(APOS))
                    + body)
        return self.maybe_non_ascii(body)

    def topic(self):
        w = self.v.words(self.rng, 2)
        return "the " + w[0] + " " + w[1]

    def count(self, key):
        self.stats[key] = self.stats.get(key, 0) + 1
        if key.startswith(("loop_", "refusal_", "agent_")):
            self.kind = key

    def nturns(self):
        # 2..40, skewed toward shorter conversations (median ~8)
        x = int(self.rng.lognormvariate(math.log(8), 0.75))
        return max(2, min(40, x))

    def chat(self, n, system=None):
        msgs = []
        if system:
            msgs.append({"role": "system", "content": system})
        for i in range(n):
            role = "user" if i % 2 == 0 else "assistant"
            msgs.append({"role": role, "content": self.turn(role)})
        return msgs

    # -- conversation kinds --------------------------------------------------
    def conv_normal(self):
        sysmsg = None
        if self.rng.random() < 0.3:
            sysmsg = "You are a helpful assistant. " + self.t.sentence()
        return self.chat(self.nturns(), sysmsg)

    def conv_loop(self):
        rng = self.rng
        kind = rng.choice(("exact1", "exact2", "recycled", "spam_word",
                           "spam_sentence"))
        self.count("loop_" + kind)
        reps = rng.randint(3, 7)
        extra = {"exact1": reps, "exact2": 2 * reps}.get(kind, 2)
        n = max(4, min(self.nturns(), 40 - extra))
        msgs = self.chat(n - n % 2)
        if kind in ("exact1", "exact2"):
            if kind == "exact1":
                # the assistant repeats itself with no user turn between
                rep = self.turn("assistant")
                msgs += [{"role": "assistant", "content": rep}] * reps
            else:
                u = self.turn("user")
                a = self.turn("assistant")
                for _ in range(reps):
                    msgs.append({"role": "user", "content": u})
                    msgs.append({"role": "assistant", "content": a})
        elif kind == "recycled":
            para = self.t.paragraph(rng.randint(200, 500))
            idx = [i for i, m in enumerate(msgs) if m["role"] == "assistant"]
            msgs[idx[0]]["content"] += "\n\n" + para
            # every later assistant turn recycles it with probability 0.7,
            # the last one always
            for i in idx[1:]:
                if i == idx[-1] or rng.random() < 0.7:
                    msgs[i]["content"] = (self.t.paragraph(100) + "\n\n" +
                                          para + "\n\n" +
                                          self.t.paragraph(100))
        elif kind == "spam_word":
            w = self.v.word(rng)
            msgs.append({"role": "user", "content": self.turn("user")})
            spam = " ".join([w] * rng.randint(40, 600))
            msgs.append({"role": "assistant", "content": spam[:4096]})
        else:
            s = self.t.sentence()
            msgs.append({"role": "user", "content": self.turn("user")})
            spam = " ".join([s] * rng.randint(10, 60))
            msgs.append({"role": "assistant", "content": spam[:4096]})
        return msgs

    def conv_refusal(self):
        rng = self.rng
        kind = rng.choice(("single", "single", "partial", "loop", "onset"))
        self.count("refusal_" + kind)
        topic = self.topic()
        style = rng.choice(REFUSAL_STYLES)
        msgs = []
        if kind == "onset":
            for _ in range(rng.randint(2, 8)):
                msgs.append({"role": "user", "content": self.turn("user")})
                msgs.append({"role": "assistant",
                             "content": self.turn("assistant")})
        msgs.append({"role": "user",
                     "content": "Can you tell me about %s? %s" %
                     (topic, self.t.sentence())})
        if kind == "partial":
            msgs.append({"role": "assistant", "content":
                         refusal_text(rng, style, topic) + "\n\n" +
                         "However, here is some general information. " +
                         self.t.body(rng.randint(300, 1500), True)})
        elif kind == "loop":
            style = rng.choice(("crisis", "apology", "policy", "crisis"))
            reps = rng.randint(3, 8)
            a = rng.choice(APOS)
            for r in range(reps):
                msgs.append({"role": "assistant",
                             "content": refusal_text(rng, style, topic)})
                if r < reps - 1:
                    pb = rng.choice(PUSHBACK).replace("%s", a)
                    msgs.append({"role": "user",
                                 "content": pb.format(t=topic)})
        else:
            msgs.append({"role": "assistant",
                         "content": refusal_text(rng, style, topic)})
            if rng.random() < 0.5:
                msgs.append({"role": "user", "content": self.turn("user")})
                msgs.append({"role": "assistant",
                             "content": self.turn("assistant")})
        return msgs

    def tool_call(self, name, args):
        self.call_id += 1
        cid = "call_%08x" % (self.call_id * 2654435761 % (1 << 32))
        return cid, {"id": cid, "type": "function",
                     "function": {"name": name,
                                  "arguments": json.dumps(args)}}

    def agent_step(self, msgs, thought, name, args, observation):
        cid, call = self.tool_call(name, args)
        msgs.append({"role": "assistant", "content": thought,
                     "tool_calls": [call]})
        msgs.append({"role": "tool", "tool_call_id": cid,
                     "content": observation})

    def conv_agent(self):
        rng = self.rng
        kind = rng.choice(("poll", "edit_test", "reread", "stuck_error",
                           "stuck_same"))
        self.count("agent_" + kind)
        msgs = [{"role": "system", "content":
                 "You are a coding agent. Use the tools to complete the "
                 "task. " + self.t.sentence()},
                {"role": "user", "content": self.turn("user")}]
        path = "src/%s/%s.py" % (self.v.word(rng), self.v.word(rng))
        steps = rng.randint(3, 12)
        if kind in ("reread", "edit_test"):
            steps = min(steps, 8)
        if kind == "poll":
            job = "job-%d" % rng.randint(1000, 99999)
            prog = 0
            for i in range(steps):
                prog = min(100, prog + rng.randint(3, 25))
                st = "running" if prog < 100 else "succeeded"
                self.agent_step(msgs, None, "check_status", {"job_id": job},
                                json.dumps({"job_id": job, "status": st,
                                            "progress": prog,
                                            "elapsed_s": 10 * (i + 1)}))
                if st == "succeeded":
                    break
        elif kind == "edit_test":
            fails = rng.randint(steps, steps + 6)
            for i in range(steps):
                self.agent_step(msgs, self.t.sentence(), "edit_file",
                                {"path": path, "line": rng.randint(1, 400),
                                 "text": self.t.sentence()}, "ok")
                fails = max(0, fails - rng.randint(1, 3))
                out = "%d passed, %d failed" % (rng.randint(40, 90), fails)
                if fails:
                    out += "\nFAILED tests/test_%s.py::test_%s - " \
                           "AssertionError" % (self.v.word(rng),
                                               self.v.word(rng))
                self.agent_step(msgs, None, "run_tests", {"path": "tests"},
                                out)
                if not fails:
                    break
        elif kind == "reread":
            for i in range(steps):
                content = "\n".join("%4d  %s" % (k + 1, self.t.sentence())
                                    for k in range(rng.randint(3, 12)))
                self.agent_step(msgs, None, "read_file", {"path": path},
                                content)
                self.agent_step(msgs, self.t.sentence(), "edit_file",
                                {"path": path, "text": self.t.sentence()},
                                "ok")
        elif kind == "stuck_error":
            err = ("Error: FileNotFoundError: [Errno 2] No such file or "
                   "directory: '%s'" % path)
            for i in range(max(4, steps)):
                self.agent_step(msgs, rng.choice(THINK) + " " +
                                self.t.sentence(), "read_file",
                                {"path": path}, err)
        else:
            obs = json.dumps({"results": [], "query": self.v.word(rng)})
            q = self.v.word(rng)
            for i in range(max(4, steps)):
                self.agent_step(msgs, None, "search", {"query": q}, obs)
        msgs.append({"role": "assistant", "content": self.turn("assistant")})
        return msgs

    def conversation(self):
        self.n += 1
        self.kind = "normal"
        r = self.rng.random()
        if r < 0.03:
            self.count("conv_loop")
            msgs = self.conv_loop()
        elif r < 0.08:
            self.count("conv_refusal")
            msgs = self.conv_refusal()
        elif r < 0.16:
            self.count("conv_agent")
            msgs = self.conv_agent()
        else:
            self.count("conv_normal")
            msgs = self.conv_normal()
        cid = "conv-%07d" % self.n
        if self.rng.random() < 0.1:
            cid = self.n  # numeric ids exist too
        return {"id": cid, "messages": msgs}


# --------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------

def write_jsonl(gen, limit, out, labels=None):
    total = 0
    rng = gen.rng
    while total < limit:
        conv = gen.conversation()
        if labels:
            labels.write(json.dumps({"id": conv["id"], "planted": gen.kind}) +
                         "\n")
        ascii_only = rng.random() < 0.25
        line = json.dumps(conv, ensure_ascii=ascii_only,
                          separators=(", ", ": ") if rng.random() < 0.5
                          else (",", ":"))
        data = (line + "\n").encode("utf-8")
        out.write(data)
        total += len(data)
        gen.stats["turns"] += len(conv["messages"])
    return total


SPEAKERS = {"user": ("Patient", "Client", "Student", "User"),
            "assistant": ("Therapist", "Coach", "Tutor", "Assistant")}


def write_transcripts(gen, limit, outdir):
    os.makedirs(outdir, exist_ok=True)
    total = 0
    while total < limit:
        conv = gen.conversation()
        k = gen.rng.randrange(4)
        names = {"user": SPEAKERS["user"][k],
                 "assistant": SPEAKERS["assistant"][k]}
        lines = ["Summary:", "", "- " + gen.t.sentence(),
                 "- " + gen.t.sentence(), ""]
        for m in conv["messages"]:
            if m["role"] not in names or not m.get("content"):
                continue
            lines.append("%s: %s" % (names[m["role"]], m["content"]))
            lines.append("")
        data = "\n".join(lines).encode("utf-8")
        with open(os.path.join(outdir, "conv-%07d.txt" % gen.n), "wb") as f:
            f.write(data)
        total += len(data)
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=10.0,
                    help="size to write in MB (10^6 bytes), default 10")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", default="-",
                    help="output file (default stdout)")
    ap.add_argument("--transcript", metavar="DIR",
                    help="write plain-text transcripts into DIR instead")
    ap.add_argument("--stats", action="store_true",
                    help="print what was generated to stderr")
    ap.add_argument("--huge", action="store_true",
                    help="write ONE conversation of --mb MB (many ordinary "
                    "turns) to measure how memory grows with the largest "
                    "conversation")
    ap.add_argument("--labels", metavar="FILE",
                    help="also write {id, planted} per conversation (JSONL): "
                    "normal, loop_*, refusal_*, agent_*")
    args = ap.parse_args()
    limit = int(args.mb * 1e6)
    gen = Gen(args.seed)
    gen.stats["turns"] = 0
    labels = open(args.labels, "w") if args.labels else None
    if args.huge:
        msgs = []
        size = 0
        while size < limit:
            role = "user" if len(msgs) % 2 == 0 else "assistant"
            msgs.append({"role": role, "content": gen.turn(role)})
            size += len(msgs[-1]["content"]) + 40
        data = (json.dumps({"id": "huge", "messages": msgs}) + "\n").encode()
        out = (sys.stdout.buffer if args.output == "-"
               else open(args.output, "wb"))
        out.write(data)
        out.flush()
        total = len(data)
        gen.n = 1
        gen.stats["turns"] = len(msgs)
    elif args.transcript:
        total = write_transcripts(gen, limit, args.transcript)
    elif args.output == "-":
        total = write_jsonl(gen, limit, sys.stdout.buffer, labels)
    else:
        tmp = args.output + ".tmp"
        with open(tmp, "wb", buffering=1 << 20) as f:
            total = write_jsonl(gen, limit, f, labels)
        os.replace(tmp, args.output)
    if labels:
        labels.close()
    if args.stats:
        st = dict(gen.stats)
        st["conversations"] = gen.n
        st["bytes"] = total
        sys.stderr.write(json.dumps(st, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
