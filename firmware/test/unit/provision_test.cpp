#include <string>

#include "check.h"
#include "provision.h"

using namespace sy;

static ProvisionResult parse(const std::string& s, Provisioning& p) { return parseProvisioning(s.data(), s.size(), p); }

static const std::string kDoc =
    "{\"v\":1,\"farm\":\"demo-01\",\"kind\":\"waterbank\",\"device\":\"demo-01-bank\",\"password\":\"p4ssw0rd!\","
    "\"broker\":\"mqtts://broker.example.org\",\"modem\":{\"apn\":\"internet\"},\"wifi\":{\"ssid\":\"\\u0e2a\\u0e27\\u0e19\"}}";

TEST(provision_reads_every_field_and_the_default_port) {
  Provisioning p;
  ProvisionResult r = parse(kDoc, p);
  CHECK(r.ok);
  CHECK_EQ(std::string(p.farm), std::string("demo-01"));
  CHECK(p.kind == Kind::Waterbank);
  CHECK_EQ(std::string(p.device), std::string("demo-01-bank"));
  CHECK_EQ(std::string(p.password), std::string("p4ssw0rd!"));
  CHECK(p.tls);
  CHECK_EQ(std::string(p.host), std::string("broker.example.org"));
  CHECK_EQ(static_cast<int>(p.port), 8883);
  CHECK(p.hasWifi && p.hasModem);
  CHECK_EQ(std::string(p.ssid), std::string("\xE0\xB8\xAA\xE0\xB8\xA7\xE0\xB8\x99"));  // สวน
  CHECK_EQ(std::string(p.apn), std::string("internet"));
}

TEST(provision_refuses_with_the_field) {
  struct Case {
    std::string doc;
    const char* field;
  } cases[] = {
      {"{\"v\":1}", "farm"},
      {"{\"v\":2,\"farm\":\"a\",\"kind\":\"pump\",\"device\":\"b\",\"password\":\"12345678\",\"broker\":\"mqtt://h\",\"wifi\":{\"ssid\":\"x\"}}", "v"},
      {"{\"v\":1,\"farm\":\"a\",\"kind\":\"pump\",\"device\":\"b\",\"password\":\"12345678\",\"broker\":\"mqtt://h:70000\",\"wifi\":{\"ssid\":\"x\"}}", "broker"},
      {"{\"v\":1,\"farm\":\"a\",\"kind\":\"pump\",\"device\":\"b\",\"password\":\"12345678\",\"broker\":\"mqtt://h\",\"wifi\":{\"ssid\":\"\\ud800\"}}", "wifi.ssid"},
      {"{\"v\":1,\"farm\":\"a\",\"kind\":\"pump\",\"device\":\"b\",\"password\":\"12345678\",\"broker\":\"mqtt://h\"}", "wifi"},
      {"{\"v\":1,\"farm\":\"a\",\"kind\":\"pump\",\"device\":\"b\",\"password\":\"1234567\",\"broker\":\"mqtt://h\",\"wifi\":{\"ssid\":\"x\"}}", "password"},
  };
  for (const Case& c : cases) {
    Provisioning p;
    ProvisionResult r = parse(c.doc, p);
    if (r.ok) check::fail(__FILE__, __LINE__, "accepted " + c.doc);
    CHECK_EQ(std::string(r.field), std::string(c.field));
  }
  Provisioning p;
  CHECK(!parse(kDoc + std::string(1100, ' '), p).ok);  // longer than the line buffer: refused whole
}
