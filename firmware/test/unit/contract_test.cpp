#include <string>

#include "check.h"
#include "contract.h"

using namespace sy;

static std::string whole(int64_t ts, const char* body, size_t len) {
  char out[600];
  EncodeResult e = withTs(ts, body, len, out, sizeof out);
  return e.len == 0 ? std::string("<refused>") : std::string(out, e.len);
}

TEST(contract_topics_and_ids) {
  char t[96];
  CHECK(topicOf("ranong-01", Kind::Pump, "pump-1", Channel::CmdAck, t, sizeof t));
  CHECK_EQ(std::string(t), std::string("farm/ranong-01/pump/pump-1/cmd/ack"));
  CHECK(topicOf("f", Kind::Waterbank, "b", Channel::Telemetry, t, sizeof t));
  CHECK_EQ(std::string(t), std::string("farm/f/waterbank/b/telemetry"));
  CHECK(!topicOf("f", Kind::Soil, "b", Channel::Telemetry, t, 10));
  CHECK(isId("a"));
  CHECK(isId("0123456789abcdef0123456789abcdef"));
  CHECK(!isId("0123456789abcdef0123456789abcdef0"));
  CHECK(!isId("-a"));
  CHECK(!isId("A"));
  CHECK(!isId(""));
  CHECK(!isId("a/b"));
  CHECK(!isId("a+"));
  Kind k;
  CHECK(parseKind("waterbank", k) && k == Kind::Waterbank);
  CHECK(!parseKind("Pump", k));
}

TEST(contract_pump_telemetry_is_written_field_by_field) {
  Reading r(Kind::Pump);
  double v[] = {52.34, 8.1, 423.9, 9.87, 3600, 41.25, 2.345, 48.2, 12345.6, 987654, 850, -71};
  for (int i = 0; i < 12; i++) r.v[i] = v[i];
  r.state = PumpState::Running;
  char body[512];
  EncodeResult e = encodeTelemetryBody(r, 7, 3, body, sizeof body);
  CHECK(e.len > 0);
  CHECK_EQ(e.clamped, uint8_t(0));
  CHECK_EQ(whole(1772323200000LL, body, e.len),
           std::string("{\"ts\":1772323200000,\"seq\":7,\"boot\":3,\"pv_v\":52.34,\"pv_a\":8.1,\"pv_w\":423.9,\"motor_a\":9.87,"
                       "\"motor_rpm\":3600,\"flow_lpm\":41.25,\"pressure_bar\":2.345,\"ctrl_temp_c\":48.2,\"volume_l_today\":12345.6,"
                       "\"run_s_total\":987654,\"irradiance_wm2\":850,\"rssi_dbm\":-71,\"state\":\"running\",\"fault\":null}"));
}

TEST(contract_optional_fields_are_left_out_and_faults_named) {
  Reading r(Kind::Pump);
  for (int i = 0; i < 10; i++) r.v[i] = 0;
  r.state = PumpState::Fault;
  r.fault = Fault::DryRun;
  char body[512];
  EncodeResult e = encodeTelemetryBody(r, 0, 1, body, sizeof body);
  std::string s(body, e.len);
  CHECK(s.find("irradiance_wm2") == std::string::npos);
  CHECK(s.find("rssi_dbm") == std::string::npos);
  CHECK(s.find("\"state\":\"fault\",\"fault\":\"DRY_RUN\"}") != std::string::npos);
}

TEST(contract_values_outside_their_range_are_clamped_and_counted) {
  Reading r(Kind::Soil);
  r.v[soilf::vwc_pct] = 104.2;
  r.v[soilf::raw_adc] = 4100.4;
  r.v[soilf::soil_temp_c] = -25;
  r.v[soilf::battery_v] = 3.9876;
  char body[512];
  EncodeResult e = encodeTelemetryBody(r, 1, 1, body, sizeof body);
  CHECK_EQ(e.clamped, uint8_t(3));
  CHECK_EQ(std::string(body, e.len), std::string("\"seq\":1,\"boot\":1,\"vwc_pct\":100,\"raw_adc\":4095,\"soil_temp_c\":-20,\"battery_v\":3.988}"));
  r.v[soilf::raw_adc] = 1234.5;  // an integer field
  e = encodeTelemetryBody(r, 1, 1, body, sizeof body);
  CHECK(std::string(body, e.len).find("\"raw_adc\":1235,") != std::string::npos);
}

TEST(contract_a_required_value_the_sensor_did_not_give_refuses_the_reading) {
  Reading r(Kind::Waterbank);
  r.v[bankf::level_cm] = 120;
  r.v[bankf::level_pct] = 60;
  char body[512];
  EncodeResult e = encodeTelemetryBody(r, 1, 1, body, sizeof body);
  CHECK_EQ(e.len, size_t(0));
  CHECK_EQ(std::string(e.error), std::string("volume_l"));
  r.v[bankf::volume_l] = 9600;
  e = encodeTelemetryBody(r, 1, 1, body, sizeof body);
  CHECK_EQ(std::string(body, e.len), std::string("\"seq\":1,\"boot\":1,\"level_cm\":120,\"level_pct\":60,\"volume_l\":9600}"));
}

TEST(contract_ts_outside_2020_to_2100_is_never_written) {
  char body[] = "\"seq\":0}";
  CHECK_EQ(whole(0, body, 8), std::string("<refused>"));
  CHECK_EQ(whole(kMinTsMs - 1, body, 8), std::string("<refused>"));
  CHECK_EQ(whole(kMaxTsMs + 1, body, 8), std::string("<refused>"));
  CHECK_EQ(whole(kMinTsMs, body, 8), std::string("{\"ts\":1577836800000,\"seq\":0}"));
  CHECK_EQ(whole(kMinTsMs, body, 0), std::string("<refused>"));  // a body that failed to encode
  char out[128];
  CHECK_EQ(encodeStatus(true, 12345, 1, "fw", out, sizeof out).len, size_t(0));
}

TEST(contract_status_event_and_ack) {
  char out[800];
  EncodeResult e = encodeStatus(false, 1772323200000LL, 4, "sy-1.0.0", out, sizeof out);
  CHECK_EQ(std::string(out, e.len), std::string("{\"online\":false,\"ts\":1772323200000,\"boot\":4,\"fw\":\"sy-1.0.0\"}"));
  e = encodeEventBody("fault_cleared", true, Fault::None, "", out, sizeof out);
  CHECK_EQ(std::string(out, e.len), std::string("\"type\":\"fault_cleared\",\"fault\":null}"));
  e = encodeEventBody("state", false, Fault::None, "idle -> running: start", out, sizeof out);
  CHECK_EQ(std::string(out, e.len), std::string("\"type\":\"state\",\"detail\":\"idle -> running: start\"}"));
  CHECK_EQ(encodeEventBody("", false, Fault::None, nullptr, out, sizeof out).len, size_t(0));
  std::string longDetail(600, 'x');
  e = encodeEventBody("fault", true, Fault::Overtemp, longDetail.c_str(), out, sizeof out);
  CHECK_EQ(std::string(out, e.len), "\"type\":\"fault\",\"fault\":\"OVERTEMP\",\"detail\":\"" + std::string(512, 'x') + "\"}");
  e = encodeAck("c-1", 3, false, "args.seconds must be \"1\"", out, sizeof out);
  CHECK_EQ(std::string(out, e.len), std::string("{\"id\":\"c-1\",\"ok\":false,\"error\":\"args.seconds must be \\\"1\\\"\"}"));
  e = encodeAck("", 0, false, "malformed JSON", out, sizeof out);
  CHECK_EQ(std::string(out, e.len), std::string("{\"id\":\"invalid\",\"ok\":false,\"error\":\"malformed JSON\"}"));
  e = encodeAck("c-2", 3, true, "ignored when ok", out, sizeof out);
  CHECK_EQ(std::string(out, e.len), std::string("{\"id\":\"c-2\",\"ok\":true}"));
}
