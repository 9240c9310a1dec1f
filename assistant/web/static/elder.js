/* elder.js — the elder-mode page: one big hold-to-talk button, the reply in large type and spoken
 * aloud, big Confirm / Cancel for payments, and a text box for when speaking does not work.
 *
 * Audio: MediaRecorder (Opus in WebM, else Ogg) → `audio.start` {format}, a binary frame every
 * 250 ms while the button is held, `audio.end` on release (`endpoint: 'client'`: the server does not end
 * the utterance on a pause while the button is held).
 * Spoken replies: the session asks for them (`speech: true`); the server's pcm16 frames between
 * `reply.audio.start` and `reply.audio.end` are played with Web Audio as they come. When the server
 * does not speak (no text-to-speech there, or it failed), the browser's speech synthesis reads the
 * reply instead. Pressing the button, typing or answering stops the reply being spoken. */
(function () {
  'use strict';
  const { LuiClient, t, speechLang, params, el } = window.Lui;

  const TEXT = {
    zh: {
      title: '小助手', heard: '您说：', listening: '正在听…', hello: '您好！按住下面的大按钮说话，松开就发送。',
      talk_idle: '按住 说话', talk_starting: '请稍等…', talk_recording: '松开 发送', talk_sending: '正在听您说的话…',
      type_label: '也可以打字：', type_placeholder: '在这里打字', send: '发送', other_lang: 'English',
      confirm: '确认付款', cancel: '取消', working: '正在办理…', paid: '✓ 已经付好了', cancelled: '已取消，没有扣钱',
      stale: '这笔已经失效了', failed: '没有办成',
      status_idle: '未连接', status_connecting: '正在连接…', status_starting: '正在连接…', status_ready: '已连接',
      status_offline: '网络断了，正在重新连接…', status_unauthorized: '请重新登录',
      voice_unavailable: '语音功能现在用不了，请在下面打字。',
      mic_denied: '没有拿到麦克风，请允许使用麦克风，或者在下面打字。',
      no_recorder: '这个浏览器不能录音，请在下面打字。',
      no_speech: '没听清，请按住按钮再说一遍。', too_short: '请一直按住按钮，说完再松开。',
      offline: '网络断了，正在重新连接，请稍等。', error: '出了点问题：',
    },
    en: {
      title: 'Assistant', heard: 'You said:', listening: 'Listening…', hello: 'Hello! Hold the big button and speak; let go to send.',
      talk_idle: 'Hold to talk', talk_starting: 'One moment…', talk_recording: 'Release to send', talk_sending: 'Working it out…',
      type_label: 'Or type here:', type_placeholder: 'Type here', send: 'Send', other_lang: '中文',
      confirm: 'Confirm payment', cancel: 'Cancel', working: 'Working on it…', paid: '✓ Paid', cancelled: 'Cancelled. No money was taken.',
      stale: 'This one is no longer waiting', failed: 'It did not go through',
      status_idle: 'Not connected', status_connecting: 'Connecting…', status_starting: 'Connecting…', status_ready: 'Connected',
      status_offline: 'Connection lost, reconnecting…', status_unauthorized: 'Please sign in again',
      voice_unavailable: 'Voice is not available right now. Please type below.',
      mic_denied: 'The microphone is not allowed. Allow it, or type below.',
      no_recorder: 'This browser cannot record. Please type below.',
      no_speech: "I didn't catch that. Hold the button and try again.", too_short: 'Keep holding the button while you speak.',
      offline: 'Connection lost, reconnecting. Please wait.', error: 'Something went wrong:',
    },
  };
  const FORMATS = [['audio/webm;codecs=opus', 'webm'], ['audio/ogg;codecs=opus', 'ogg'], ['audio/webm', 'webm'],
                   ['audio/ogg', 'ogg']];
  // errors after which the server takes no more of this recording: stop it (no audio.end, which would get no
  // answer) — the last two end an utterance while the button may still be held
  const ABORT_CODES = new Set(['voice-unavailable', 'unexpected-binary', 'audio-in-progress', 'audio-cpu-limit',
                               'audio-timeout']);
  // let go this long before the server's longest utterance: recording starts a little after audio.start and
  // the last frame and audio.end take a moment to arrive
  const HOLD_MARGIN_MS = 1500;

  const $ = (id) => document.getElementById(id);
  const q = params();
  const client = new LuiClient({ user: q.get('user') || 'u_li', lang: q.get('lang') || 'zh', mode: 'elder',
                                 pingMs: Number(q.get('ping')) || 20000, speech: q.get('speech') !== '0',
                                 reminders: true });
  const page = { talk: 'idle', take: null, lastTake: null, pressed: false, maxAudioS: null, spoken: [], confirmationId: null, details: null,
                 awaiting: null, lastIntent: null, replied: false, streaming: false, serverSpeech: false,
                 audio: null, audios: [], browserSpoken: [] };
  window.lui = client;
  window.luiElder = page;
  const tr = (key, fields) => t(TEXT, client.lang, key, fields);

  // --- display -------------------------------------------------------------------------------
  function applyLabels() {
    document.documentElement.lang = Lui.uiLang(client.lang) === 'zh' ? 'zh-CN' : 'en';
    document.title = tr('title');
    $('title').textContent = tr('title');
    $('heard-label').textContent = tr('heard');
    $('text-label').textContent = tr('type_label');
    $('text').placeholder = tr('type_placeholder');
    $('text-send').textContent = tr('send');
    $('confirm-yes').textContent = tr('confirm');
    $('confirm-no').textContent = tr('cancel');
    const toggle = $('lang-toggle');
    toggle.textContent = tr('other_lang');
    toggle.lang = Lui.uiLang(client.lang) === 'zh' ? 'en' : 'zh-CN';
    if (!page.replied) $('reply').textContent = tr('hello');
    setTalk(page.talk);
    showStatus(client.state);
  }

  function showStatus(state) {
    $('status').dataset.state = state;
    $('status').textContent = tr('status_' + state);
    $('talk').disabled = state !== 'ready' && page.talk === 'idle';
  }

  function setTalk(state) {
    page.talk = state;
    const talk = $('talk');
    talk.dataset.state = state;
    $('talk-label').textContent = tr('talk_' + state);
    talk.setAttribute('aria-pressed', String(state === 'recording'));
  }

  function showTranscript(text, state) {
    const node = $('transcript');
    node.textContent = text;
    node.dataset.state = state;
  }

  function showAlert(text, detail, code) {
    const alert = $('alert');
    $('alert-text').textContent = text;
    $('alert-detail').textContent = detail || '';
    alert.dataset.code = code || '';
    alert.hidden = false;
  }

  function clearAlert() {
    $('alert').hidden = true;
    $('alert').dataset.code = '';
    $('text-form').classList.remove('highlight');
  }

  function pointToTyping() {
    $('text-form').classList.add('highlight');
  }

  function showReply(text) {
    page.replied = true;
    $('reply').textContent = text;
  }

  function showQuick(replies) {
    const box = $('quick');
    box.replaceChildren();
    for (const text of replies || []) {
      box.append(el('button', { type: 'button', class: 'quick-reply', onclick: () => sendText(text) }, text));
    }
  }

  // --- spoken replies: the server's audio through Web Audio, else the browser's voice --------------
  const player = { ctx: null, analyser: null, at: 0, sources: [], meter: null };

  function audioContext() {
    if (!player.ctx) {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) return null;
      player.ctx = new AC();
      player.analyser = player.ctx.createAnalyser();
      player.analyser.fftSize = 2048;
      player.analyser.connect(player.ctx.destination);
    }
    if (player.ctx.state === 'suspended') player.ctx.resume().catch(() => {});
    return player.ctx;
  }

  function playFrame(buf) {
    const take = page.audio;
    if (!take || take.done || take.stopped) return; // after a barge-in the frames still in flight are dropped
    take.frames += 1;
    take.bytes += buf.byteLength;
    const ctx = audioContext();
    if (!ctx) return;
    const pcm = new Int16Array(buf, 0, Math.floor(buf.byteLength / 2));
    const buffer = ctx.createBuffer(1, pcm.length, take.rate);
    const out = buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) out[i] = pcm[i] / 32768;
    const src = ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(player.analyser);
    player.at = Math.max(player.at, ctx.currentTime + 0.03);
    src.start(player.at);
    player.at += buffer.duration;
    take.scheduledMs += buffer.duration * 1000;
    src.onended = () => {
      take.played += 1;
      player.sources = player.sources.filter((s) => s !== src);
    };
    player.sources.push(src);
    if (!player.meter) player.meter = setInterval(measure, 40);
  }

  /** How loud the output is while server audio plays (the test checks that it was audible). */
  function measure() {
    const take = page.audio;
    if (!player.sources.length) { clearInterval(player.meter); player.meter = null; return; }
    const data = new Float32Array(player.analyser.fftSize);
    player.analyser.getFloatTimeDomainData(data);
    let peak = 0;
    for (const v of data) peak = Math.max(peak, Math.abs(v));
    if (take) take.peak = Math.max(take.peak, peak);
  }

  function stopServerAudio() {
    for (const src of player.sources) { try { src.stop(); } catch (err) { /* not started */ } }
    player.sources = [];
    player.at = 0;
    if (page.audio && !page.audio.done) page.audio.stopped = true;
  }

  function speak(text) {
    page.spoken.push(text);
    if (page.serverSpeech) return; // the server's voice follows (reply.audio.*); browserSpeak if it fails
    browserSpeak(text);
  }

  function browserSpeak(text) {
    page.browserSpoken.push(text);
    if (!text || !('speechSynthesis' in window)) return;
    try {
      const u = new SpeechSynthesisUtterance(text);
      u.lang = speechLang(text);
      const voices = speechSynthesis.getVoices();
      const want = u.lang.toLowerCase();
      u.voice = voices.find((v) => (v.lang || '').replace('_', '-').toLowerCase() === want)
        || voices.find((v) => (v.lang || '').toLowerCase().startsWith(want.slice(0, 2))) || null;
      u.rate = 0.9;
      speechSynthesis.cancel();
      speechSynthesis.speak(u);
    } catch (err) { /* speaking is a bonus; the text is on screen */ }
  }

  function stopSpeaking() {
    stopServerAudio();
    try { if ('speechSynthesis' in window) speechSynthesis.cancel(); } catch (err) { /* ignore */ }
  }

  // --- the confirmation panel ----------------------------------------------------------------
  function setConfirm(state, text) {
    const panel = $('confirm');
    panel.dataset.state = state;
    panel.hidden = state === 'none';
    $('confirm-yes').disabled = state !== 'pending';
    $('confirm-no').disabled = state !== 'pending';
    $('confirm-status').textContent = text || (['pending', 'none'].includes(state) ? '' : tr(state));
  }

  function answer(accept) {
    if ($('confirm').dataset.state !== 'pending' || !client.ready) return;
    page.awaiting = { id: page.confirmationId, accept };
    setConfirm('working');
    showQuick([]);
    stopSpeaking();
    client.send({ type: 'confirm', confirmation_id: page.confirmationId, accept });
  }

  function settle(ev) {
    const state = $('confirm').dataset.state;
    if (state === 'none' || state === 'paid' || state === 'cancelled') return;
    const receipt = ev.card && ev.card.kind === 'receipt';
    const awaiting = page.awaiting;
    page.awaiting = null;
    if (receipt) setConfirm('paid');
    else if (awaiting) setConfirm(awaiting.accept ? 'failed' : 'cancelled');
    else if (page.lastIntent === 'deny' || page.lastIntent === 'cancel') setConfirm('cancelled');
    else if (page.lastIntent === 'confirm') setConfirm('failed');
  }

  // --- text ----------------------------------------------------------------------------------
  function sendText(text) {
    text = String(text || '').trim();
    if (!text) return;
    clearAlert();
    stopSpeaking();
    if (page.serverSpeech) audioContext();
    showQuick([]);
    showTranscript(text, 'final');
    page.lastIntent = null;
    if (['paid', 'cancelled', 'failed'].includes($('confirm').dataset.state)) setConfirm('none');
    client.send({ type: 'text', text });
  }

  // --- voice ---------------------------------------------------------------------------------
  function pickFormat() {
    if (!window.MediaRecorder || !MediaRecorder.isTypeSupported) return null;
    for (const [mime, format] of FORMATS) if (MediaRecorder.isTypeSupported(mime)) return { mime, format };
    return null;
  }

  async function press(e) {
    if (e) e.preventDefault();
    if (page.pressed) return;
    page.pressed = true;
    stopSpeaking();
    if (page.serverSpeech) audioContext(); // a gesture: Web Audio may start now
    clearAlert();
    if (['paid', 'cancelled', 'failed'].includes($('confirm').dataset.state)) setConfirm('none');
    if (!client.ready) {
      showAlert(tr('offline'), '', 'offline');
      return;
    }
    const fmt = pickFormat();
    if (!fmt || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showAlert(tr('no_recorder'), '', 'no-recorder');
      pointToTyping();
      return;
    }
    setTalk('starting');
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
    } catch (err) {
      setTalk('idle');
      showAlert(tr('mic_denied'), err && err.name, 'mic-denied');
      pointToTyping();
      return;
    }
    if (!page.pressed || !client.ready) { // let go before the microphone opened
      stream.getTracks().forEach((track) => track.stop());
      setTalk('idle');
      if (client.ready) showAlert(tr('too_short'), '', 'too-short');
      return;
    }
    record(stream, fmt);
  }

  function record(stream, fmt) {
    const recorder = new MediaRecorder(stream, { mimeType: fmt.mime, audioBitsPerSecond: 32000 });
    const take = { recorder, stream, format: fmt.format, aborted: false, chain: Promise.resolve(), frames: 0,
                   bytes: 0, startedAt: performance.now(), ms: 0, ended: false };
    page.take = take;
    page.lastTake = take;
    // hold-to-talk: the release ends the utterance, never a pause while the button is held
    client.send({ type: 'audio.start', format: fmt.format, endpoint: 'client' });
    recorder.ondataavailable = (ev) => {
      if (!ev.data || !ev.data.size) return;
      const blob = ev.data;
      take.chain = take.chain.then(() => blob.arrayBuffer()).then((buf) => {
        if (!take.aborted && client.sendBinary(buf)) {
          take.frames += 1;
          take.bytes += buf.byteLength;
        }
      });
    };
    recorder.onstop = () => {
      clearTimeout(take.limit);
      take.chain = take.chain.then(() => {
        stream.getTracks().forEach((track) => track.stop());
        take.ms = Math.round(performance.now() - take.startedAt);
        if (take.aborted) return;
        take.ended = true;
        client.send({ type: 'audio.end' });
      });
    };
    recorder.start(250);
    // a button held past the server's longest utterance is let go just before it (what was said is sent,
    // not refused as audio-too-long), the way a messaging app sends a voice message at its time limit
    if (page.maxAudioS) {
      take.limit = setTimeout(() => { if (page.take === take) release(); },
                              Math.max(1000, page.maxAudioS * 1000 - HOLD_MARGIN_MS));
    }
    setTalk('recording');
    showTranscript(tr('listening'), 'listening');
  }

  function release(e) {
    if (e) e.preventDefault();
    if (!page.pressed) return;
    page.pressed = false;
    const take = page.take;
    if (!take) return; // the microphone is still opening: press() notices
    page.take = null;
    if (take.recorder.state !== 'inactive') take.recorder.stop();
    setTalk(take.aborted ? 'idle' : 'sending');
  }

  /** Stop recording without audio.end (the server refused the audio, or the connection dropped). */
  function abortTake() {
    const take = page.take || (page.lastTake && !page.lastTake.ended ? page.lastTake : null);
    if (!take) return;
    take.aborted = true;
    page.take = null;
    if (take.recorder.state !== 'inactive') take.recorder.stop();
    setTalk('idle');
  }

  // --- events --------------------------------------------------------------------------------
  client.on('state', (s) => {
    showStatus(s.state);
    if (s.previous === 'ready' && s.state !== 'ready') {
      abortTake();
      if ($('confirm').dataset.state === 'working') setConfirm('pending');
      page.awaiting = null;
      if (page.talk === 'sending') setTalk('idle');
    }
  });

  client.on('session.started', (ev) => {
    page.serverSpeech = ev.speech === true;
    page.maxAudioS = ev.max_audio_seconds || null;
    // the pending payment is live only if the server sends its confirm.request again (right away)
    if (['pending', 'working'].includes($('confirm').dataset.state)) setConfirm('none');
  });

  client.on('reply.audio.start', (ev) => {
    stopServerAudio();
    page.audio = { id: ev.id, rate: ev.sample_rate, frames: 0, bytes: 0, played: 0, scheduledMs: 0, peak: 0,
                   done: false, stopped: false, error: null };
    page.audios.push(page.audio);
    audioContext();
  });

  client.on('binary', playFrame);

  client.on('reply.audio.end', (ev) => {
    const take = page.audio && page.audio.id === ev.id ? page.audio : null;
    if (take) { take.done = true; take.error = ev.error || null; }
    if (ev.error && (!take || !take.frames)) browserSpeak(page.spoken.at(-1)); // the server could not say it
  });

  client.on('transcript.partial', (ev) => { if (ev.text) showTranscript(ev.text + ' …', 'partial'); });

  client.on('transcript.final', (ev) => showTranscript(ev.text, 'final'));

  client.on('intent', (ev) => { page.lastIntent = ev.name; });

  client.on('confirm.request', (ev) => {
    // the reply area says the whole sentence; the panel shows the amount and the payee at a glance
    const d = ev.details || (ev.confirmation_id === page.confirmationId ? page.details : null);
    page.confirmationId = ev.confirmation_id;
    page.details = d;
    page.awaiting = null;
    $('confirm-amount').textContent = d && d.amount_fen != null ? Lui.formatFen(d.amount_fen) : '';
    $('confirm-detail').replaceChildren(...(d ? [d.payee, d.phone, d.account] : []).filter(Boolean).map((x) => el('span', {}, x)));
    $('confirm-summary').textContent = d ? '' : ev.summary;
    setConfirm('pending');
  });

  client.on('reply.delta', (ev) => {
    if (!page.streaming) { page.streaming = true; showReply(''); }
    $('reply').textContent += ev.text;
  });

  client.on('reply', (ev) => {
    page.streaming = false;
    settle(ev);
    showReply(ev.text);
    const prompt = ev.card && ev.card.kind === 'confirm' && $('confirm').dataset.state === 'pending';
    showQuick(prompt ? [] : ev.quick_replies);
    if (page.talk === 'sending') setTalk('idle');
    speak(ev.text);
  });

  client.on('error', (ev) => {
    page.streaming = false;
    if (ABORT_CODES.has(ev.code)) abortTake();
    if (page.talk === 'sending' || page.talk === 'starting') setTalk('idle');
    if (page.awaiting && $('confirm').dataset.state === 'working') setConfirm('pending');
    page.awaiting = null;
    const known = { 'voice-unavailable': 'voice_unavailable', 'no-speech': 'no_speech' }[ev.code];
    showAlert(known ? tr(known) : tr('error') + ' ' + (ev.message || ev.code),
              known ? (ev.message || '') + ' (' + ev.code + ')' : ev.code, ev.code);
    if (ev.code === 'voice-unavailable') pointToTyping();
    if ($('transcript').dataset.state === 'listening') showTranscript('', 'empty');
  });

  // --- controls ------------------------------------------------------------------------------
  const talk = $('talk');
  talk.addEventListener('pointerdown', (e) => {
    if (e.button !== undefined && e.button !== 0) return;
    try { talk.setPointerCapture(e.pointerId); } catch (err) { /* not capturable */ }
    press(e);
  });
  talk.addEventListener('pointerup', release);
  talk.addEventListener('pointercancel', release);
  talk.addEventListener('lostpointercapture', release);
  talk.addEventListener('contextmenu', (e) => e.preventDefault());
  talk.addEventListener('keydown', (e) => { if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) press(e); });
  talk.addEventListener('keyup', (e) => { if (e.key === ' ' || e.key === 'Enter') release(e); });
  talk.addEventListener('click', (e) => e.preventDefault());

  $('confirm-yes').addEventListener('click', () => answer(true));
  $('confirm-no').addEventListener('click', () => answer(false));

  $('text-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('text');
    const text = input.value;
    input.value = '';
    sendText(text);
  });

  $('lang-toggle').addEventListener('click', () => {
    client.setLang(Lui.uiLang(client.lang) === 'zh' ? 'en' : 'zh');
    applyLabels();
  });

  applyLabels();
  client.connect();
})();
