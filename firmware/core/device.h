// One device, the core of its firmware: cadence, seq and boot, the clock-sync gate, the offline
// ring and its uplink, commands and their acks, and for a pump the controller's protections.
// The hardware layer calls begin() once, then tick() often (every 10-100 ms), and forwards the
// MQTT client's callbacks; everything else happens here, without allocating.
#pragma once
#include <cstddef>
#include <cstdint>

#include "clock.h"
#include "commands.h"
#include "contract.h"
#include "flash.h"
#include "hold.h"
#include "pump_controller.h"
#include "ring.h"
#include "sensors.h"
#include "uplink.h"

namespace sy {

struct DeviceConfig {
  const char* farm = "";
  Kind kind = Kind::Pump;
  const char* device = "";
  const char* password = "";
  const char* fw = "sy-1.0.0";
  // Telemetry cadence, s (FAULTS.md "Firmware behaviour"): a pump every 5 s while running and
  // every 60 s otherwise; a water bank every 5 min; a soil probe every 15 min. 0: the default.
  uint32_t intervalS = 0;
  uint32_t idleIntervalS = 0;
  int32_t tzOffsetMin = 420;  // Thailand, UTC+7: the pump's day counters reset at local midnight
  uint32_t replayPerS = 20;
  int64_t connectTimeoutMs = 30000;
  PumpSpec pump;
  BankGeometry bank;
};

// What the device tells its logs and metrics (the host prints JSON lines).
class DeviceObserver {
 public:
  // A record is in the ring: `held` when it was taken before the clock synced.
  virtual void stored(Channel ch, uint32_t seq, int64_t ts, int64_t takenMonoMs, bool held) { (void)ch; (void)seq; (void)ts; (void)takenMonoMs; (void)held; }
  virtual void delivered(Channel ch, uint32_t ringId) { (void)ch; (void)ringId; }
  virtual void link(const char* what, int64_t monoMs, int64_t detailMs) { (void)what; (void)monoMs; (void)detailMs; }
  virtual void command(const Command* cmd, bool ok, const char* error) { (void)cmd; (void)ok; (void)error; }
  // Something lost or refused, with how many (dropped readings, a sensor that gave nothing).
  virtual void problem(const char* what, const char* detail, uint32_t count) { (void)what; (void)detail; (void)count; }

 protected:
  ~DeviceObserver() = default;
};

struct DeviceCounters {
  uint32_t readings = 0;
  uint32_t events = 0;
  uint32_t droppedFull = 0;      // the ring was full: oldest erased
  uint32_t droppedPreSync = 0;   // the hold overflowed before the clock synced
  uint32_t refused = 0;          // a reading that could not be encoded (a sensor gave nothing)
  uint32_t clamped = 0;          // values brought into the contract's range
  uint32_t flashErrors = 0;
};

// What a deep-sleep wake keeps (RTC memory on the ESP32): the same boot and the seq going on
// (FAULTS.md: "A deep-sleep wake keeps both"). The wall clock survives in the RTC too: the
// hardware layer calls onTimeSynced() with it right after the wake.
struct WakeState {
  static constexpr uint32_t kMagic = 0x53595731;  // "SYW1"
  uint32_t magic = 0;
  uint32_t boot = 0;
  uint32_t seq = 0;
};

class Device : private UplinkHost {
 public:
  Device(const DeviceConfig& cfg, Flash& flash, Nvs& nvs, MqttPort& mqtt, Sensors& sensors, PumpDrive* drive, DeviceObserver* obs);

  // Mounts the ring and counts this boot (durably, before any reading: ingest deduplicates by
  // boot and seq, so a boot number used twice would lose readings). False: cannot run.
  bool begin(int64_t monoMs);
  // After a deep-sleep wake: the boot and seq of `wake` go on (no new boot is counted). A wake
  // state that is not valid (power was cut: RTC memory lost) is an ordinary boot.
  bool begin(int64_t monoMs, const WakeState& wake);
  // To keep in RTC memory before esp_deep_sleep_start().
  WakeState sleepState() const;
  // An SNTP answer: held readings get their real time and go to the ring.
  void onTimeSynced(int64_t epochMs, int64_t monoMs);
  void tick(int64_t monoMs, bool linkUp);

  // The MQTT client's callbacks.
  void onConnected(int64_t monoMs) { uplink_.onConnected(monoMs); }
  void onConnectionLost(int64_t monoMs) { uplink_.onConnectionLost(monoMs); }
  void onPuback(int mid, int64_t monoMs) { uplink_.onPuback(mid, monoMs); }
  void onMessage(const char* topic, const char* payload, size_t len, int64_t monoMs) { uplink_.onMessage(topic, payload, len, monoMs); }

  // A `reboot` command was acknowledged (its PUBACK came, or 5 s passed): restart now.
  bool wantsReboot(int64_t monoMs) const;
  // A clean stop: {online:false} retained, then DISCONNECT.
  void shutdown(int64_t monoMs) { uplink_.close(monoMs, true); }

  uint32_t boot() const { return boot_; }
  uint32_t seq() const { return seq_; }
  bool synced() const { return clock_.synced(); }
  const DeviceCounters& counters() const { return counters_; }
  const Ring& ring() const { return ring_; }
  const Uplink& uplink() const { return uplink_; }
  const PumpCtl& pump() const { return ctl_; }
  uint32_t intervalS() const { return intervalS_; }

 private:
  static constexpr int64_t kStepMs = 1000;
  // UplinkHost
  size_t statusPayload(bool online, int64_t monoMs, char* out, size_t cap) override;
  const char* topicFor(uint8_t channel) override;
  void onCommand(const char* payload, size_t len, int64_t monoMs) override;
  void onLink(const char* what, int64_t monoMs, int64_t detailMs) override;
  void onDelivered(const RecordRef& ref, uint8_t channel) override;

  void step(int64_t t);
  void stepPumpAt(int64_t t);
  void sampleSoil(int64_t t);
  void sampleBank(int64_t t);
  void sendTelemetry(Reading& r, int64_t t);
  void emitPumpEvents(const PumpEvents& ev, int64_t t);
  void event(const char* type, bool withFault, Fault fault, const char* detail, int64_t t);
  void commit(Channel ch, uint32_t tag, int64_t takenMonoMs, const char* body, size_t len);
  void store(Channel ch, uint32_t tag, int64_t takenMonoMs, const char* body, size_t len, bool held);
  void persistPump();
  int32_t localDay(int64_t monoMs) const;
  Ack run(const Command& c, int64_t monoMs);

  DeviceConfig cfg_;
  Nvs& nvs_;
  Sensors& sensors_;
  PumpDrive* drive_;
  DeviceObserver* obs_;
  Ring ring_;
  UplinkConfig upCfg_;
  Uplink uplink_;
  SyncClock clock_;
  PreSyncHold hold_;
  RecentCommands recent_;
  PumpCtl ctl_;
  PumpSensors lastPump_;
  DeviceCounters counters_;
  char topics_[5][96] = {};
  uint32_t boot_ = 0;
  uint32_t seq_ = 0;
  bool begun_ = false;
  int64_t lastTs_[5] = {};
  int64_t nextStepMs_ = 0;
  int64_t lastTelemetryMs_ = 0;
  bool anyTelemetry_ = false;
  bool reportNow_ = false;
  PumpState lastMode_ = PumpState::Idle;
  uint32_t intervalS_ = 0;
  uint32_t idleS_ = 0;
  double persistedRunS_ = 0;
  uint32_t persistedDry_[3] = {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF};  // count, day, latched
  bool rebootPending_ = false;
  int rebootMid_ = 0;
  int64_t rebootAskedMs_ = 0;
  char body_[kMaxRecord];
  char payload_[kMaxRecord + 1];
};

}  // namespace sy
