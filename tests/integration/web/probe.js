// Shared by the test pages (mpegts.js, hls.js): what a test asks of a <video>.
window.log = [];
window.CODECS = 'video/mp4; codecs="avc1.42E01E,mp4a.40.2"';

function watch(video) {
  window.video = video;
  for (const name of ["loadedmetadata", "playing", "waiting", "stalled", "ended", "error"]) {
    video.addEventListener(name, () =>
      log.push("video " + name + " t=" + video.currentTime.toFixed(2) +
               (name === "error" && video.error ? " " + video.error.message : "")));
  }
}

// JSON-able state: playback position, buffered seconds (total and ranges), decode support.
function probe() {
  const v = window.video;
  const ranges = [];
  let buffered = 0;
  if (v) {
    for (let i = 0; i < v.buffered.length; i++) {
      ranges.push([v.buffered.start(i), v.buffered.end(i)]);
      buffered += v.buffered.end(i) - v.buffered.start(i);
    }
  }
  return {
    currentTime: v ? v.currentTime : 0,
    paused: v ? v.paused : true,
    readyState: v ? v.readyState : 0,
    videoWidth: v ? v.videoWidth : 0,
    buffered: buffered,
    bufferedEnd: ranges.length ? ranges[ranges.length - 1][1] : 0,
    ranges: ranges,
    canDecode: !!(window.MediaSource && MediaSource.isTypeSupported(CODECS)),
    mediaSource: !!window.MediaSource,
    error: v && v.error ? v.error.message || String(v.error.code) : null,
    log: log.slice(-20),
  };
}
