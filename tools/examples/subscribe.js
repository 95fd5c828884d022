#!/usr/bin/env node
// Minimal genred subscriber (Node, npm "zeromq" v6): prints the current
// genre of each stream and every genre change.
//
//   node tools/examples/subscribe.js [ENDPOINT] [--count N] [--timeout S]
//
// --count 0 (the default) means no limit, as in genre-sub and subscribe.py;
// Ctrl-C stops it quietly with status 0.
//
// Install the binding once with `npm install --prefix tools/examples`
// (tools/dev deps does it when npm is there).
//
// It follows the two rules every genred client should (README, "ZeroMQ
// protocol"): subscribe to a snapshot/NONCE/ topic of its own to get the
// current state at once, and drop a message it has already seen, by its
// stream, topic, started_ms and seq.
"use strict"
const crypto = require("crypto")
const zmq = require("zeromq")

const TOPICS = ["genre.probs", "genre.change"]

// The duplicate rule: per (topic, stream), a message with the run
// (started_ms) last taken and a seq not above that one's was seen.
function isNew(seen, topic, msg) {
  if (msg.seq === undefined) return true // from a genred before sequence numbers
  const key = `${topic} ${msg.stream}`
  const last = seen.get(key)
  if (last && last.started_ms === msg.started_ms && msg.seq <= last.seq) return false
  seen.set(key, { started_ms: msg.started_ms, seq: msg.seq })
  return true
}

function parseArgs(argv) {
  const args = { endpoint: "tcp://127.0.0.1:5556", count: 0, timeout: 0 }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--count") args.count = Number(argv[++i])
    else if (argv[i] === "--timeout") args.timeout = Number(argv[++i])
    else args.endpoint = argv[i]
  }
  return args
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const sub = new zmq.Subscriber({ receiveTimeout: args.timeout ? args.timeout * 1000 : -1 })
  process.on("SIGINT", () => {
    sub.close()
    process.exit(0)
  })
  sub.connect(args.endpoint)
  const snapshot = `snapshot/${crypto.randomBytes(8).toString("hex")}/` // only we subscribe to it
  sub.subscribe(...TOPICS, ...TOPICS.map((t) => snapshot + t))

  const seen = new Map()
  for (let printed = 0; !args.count || printed < args.count; ) {
    let frames
    try {
      frames = await sub.receive()
    } catch (err) {
      if (err.code !== "EAGAIN") throw err
      console.error(`subscribe.js: nothing received for ${args.timeout} s`)
      process.exitCode = 1
      break
    }
    if (frames.length !== 2) continue // not the protocol
    let topic = frames[0].toString()
    if (topic.startsWith(snapshot)) topic = topic.slice(snapshot.length)
    const msg = JSON.parse(frames[1].toString("utf8")) // UTF-8 JSON, "v": 1
    if (!TOPICS.includes(topic) || !isNew(seen, topic, msg)) continue
    printed++
    const stream = msg.stream.padEnd(10)
    if (topic === "genre.probs") {
      const what = msg.silence ? "(silence)" : `${msg.top} ${Math.round(100 * msg.p)}%`
      console.log(`genre.probs ${stream} ${what}`)
    } else {
      // null labels: silence, or (previous only) nothing announced yet
      const before = msg.previous ?? (msg.previous_silence ? "(silence)" : "(none)")
      console.log(`genre.change ${stream} ${before} -> ${msg.new ?? "(silence)"}`)
    }
  }
  sub.close()
}

main()
