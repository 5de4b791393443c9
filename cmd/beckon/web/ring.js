// The ring of an incoming call: a pulsing card (style.css), the tab's
// title, and a phone-like tone where the browser lets a page play sound
// (after a click on it, in most browsers).

let audio = null;
let timer = null;

// unlockAudio makes the audio context; call it from a click or a tap.
export function unlockAudio() {
  if (!audio && window.AudioContext) audio = new AudioContext();
  audio?.resume?.().catch(() => {});
}

// tone plays 440 Hz + 480 Hz (a North American ring) for one second.
function tone() {
  if (!audio || audio.state !== "running") return;
  const t = audio.currentTime;
  const gain = audio.createGain();
  gain.gain.setValueAtTime(0, t);
  gain.gain.linearRampToValueAtTime(0.06, t + 0.05);
  gain.gain.setValueAtTime(0.06, t + 0.95);
  gain.gain.linearRampToValueAtTime(0, t + 1);
  gain.connect(audio.destination);
  for (const f of [440, 480]) {
    const o = audio.createOscillator();
    o.frequency.value = f;
    o.connect(gain);
    o.start(t);
    o.stop(t + 1);
  }
  navigator.vibrate?.([400, 200, 400]);
}

export function startRinger(title) {
  document.title = `🔔 ${title}`;
  if (timer) return;
  tone();
  timer = setInterval(tone, 3000);
}

export function stopRinger(title) {
  document.title = title;
  clearInterval(timer);
  timer = null;
}
