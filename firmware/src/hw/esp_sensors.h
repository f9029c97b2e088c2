// NOT COMPILED HERE (see firmware/README.md). The sensors of the three kinds on an ESP32, read
// into the core's plain structs; the conversions (4-20 mA, pulses, DS18B20 codes, the soil
// calibration, the ultrasonic median) are the core's, tested on the host.
//   INA226 (PV input, I2C 0x40, 2 mOhm shunt)   registers read with Wire, datasheet SBOS547; the shunt
//                                               in the negative leg, VBUS through a divider (WIRING.md)
//   pulse flow meter (YF-DN50, F = 0.2 x Q)     PCNT unit 0 on GPIO 34, 10 k pull-up to 3.3 V
//   4-20 mA pressure (0-10 bar, 100 Ohm shunt)  ADC1 GPIO 35, esp_adc_cal (0.4-2.0 V: inside the
//                                               ADC's linear 150-2450 mV at 11 dB; 150 Ohm clipped at 16 mA)
//   DS18B20 heatsink / soil                     OneWire on GPIO 4 (DallasTemperature)
//   capacitive soil probe v1.2                  ADC1 GPIO 36, 11 dB, 16 samples averaged
//   JSN-SR04T                                   trigger GPIO 26, echo GPIO 27 (pulseIn) through a
//                                               5 V -> 3.3 V divider, 5 pings
//   float switch                                GPIO 25, pulled up, open = full
//   pump drive                                  enable GPIO 32, speed ceiling as PWM on GPIO 33
#pragma once
#include <Arduino.h>
#include <DallasTemperature.h>
#include <OneWire.h>
#include <Wire.h>
#include <driver/pcnt.h>
#include <esp_adc_cal.h>

#include "sensors.h"

// The INA226 measures at most 36 V on VBUS; a 48 V array reads 75-100 V open-circuit. VBUS goes
// through 100 k / 24.9 k (WIRING.md), 5.14 with the INA226's 830 k input in parallel: measure it
// once with a multimeter and set it here. 1.0 only for a 24 V array wired straight (Voc < 32 V).
static constexpr double kPvDivider = 5.14;
// YF-DN50: F (Hz) = 0.2 x Q (L/min), so 0.2 x 60 = 12 pulses per litre.
static constexpr double kFlowPulsesPerL = 12.0;
static constexpr double kPressureShuntOhm = 100.0;

class EspSensors : public sy::Sensors, public sy::PumpDrive {
 public:
  void begin() {
    Wire.begin();
    ina226Write(0x00, 0x4527);  // 16 averages, 1.1 ms conversions, shunt and bus continuous
    temps_.begin();
    temps_.setWaitForConversion(false);
    pcnt_config_t pc = {};
    pc.pulse_gpio_num = 34;
    pc.ctrl_gpio_num = PCNT_PIN_NOT_USED;
    pc.channel = PCNT_CHANNEL_0;
    pc.unit = PCNT_UNIT_0;
    pc.pos_mode = PCNT_COUNT_INC;
    pc.neg_mode = PCNT_COUNT_DIS;
    pc.counter_h_lim = 32767;
    pcnt_unit_config(&pc);
    pcnt_counter_clear(PCNT_UNIT_0);
    pinMode(25, INPUT_PULLUP);
    pinMode(26, OUTPUT);
    pinMode(27, INPUT);
    pinMode(32, OUTPUT);
    ledcSetup(0, 1000, 10);
    ledcAttachPin(33, 0);
    esp_adc_cal_characterize(ADC_UNIT_1, ADC_ATTEN_DB_11, ADC_WIDTH_BIT_12, 1100, &adc_);
  }

  bool readPump(int64_t monoMs, sy::PumpSensors& o) override {
    const double busV = ina226Read(0x02) * 1.25e-3 * kPvDivider;
    const double shuntV = static_cast<int16_t>(ina226Read(0x01)) * 2.5e-6;
    o.pv_v = busV;
    o.pv_a = shuntV / 0.002;
    o.pv_w = o.pv_v * o.pv_a;
    o.voc_v = running_ ? lastVoc_ : busV;  // with the motor off the array is open-circuit
    if (!running_) lastVoc_ = busV;
    o.available_w = availableW(o.voc_v);
    int16_t pulses = 0;
    pcnt_get_counter_value(PCNT_UNIT_0, &pulses);
    pcnt_counter_clear(PCNT_UNIT_0);
    o.flow_lpm = sy::flowFromPulses(static_cast<uint32_t>(pulses), monoMs - lastFlowMs_, kFlowPulsesPerL);
    lastFlowMs_ = monoMs;
    o.pressure_bar = sy::pressureFromMa(adcMv(35) / kPressureShuntOhm, 10);
    o.ctrl_temp_c = sy::ds18b20(temps_.getTempCByIndex(0));
    temps_.requestTemperatures();  // read at the next step, without blocking this one
    o.motor_a = o.pv_w / 48;       // the drive's own current output on a real installation
    o.motor_rpm = tachoRpm();
    o.float_open = digitalRead(25) == HIGH;
    return true;
  }

  bool readSoil(int64_t, sy::SoilSensors& o) override {
    uint32_t sum = 0;
    for (int i = 0; i < 16; i++) sum += analogRead(36);
    o.raw_adc = sum / 16.0;
    temps_.requestTemperatures();
    temps_.setWaitForConversion(true);
    o.soil_temp_c = temps_.getTempCByIndex(0);
    o.battery_v = adcMv(39) * 2 / 1000.0;  // 1:1 divider
    return true;
  }

  bool readBank(int64_t, sy::BankSensors& o) override {
    for (double& d : o.ping_cm) {
      digitalWrite(26, HIGH);
      delayMicroseconds(20);
      digitalWrite(26, LOW);
      unsigned long us = pulseIn(27, HIGH, 30000);
      d = us == 0 ? NAN : us / 58.0;  // 343 m/s, there and back
      delay(60);
    }
    o.battery_v = adcMv(39) * 2 / 1000.0;
    return true;
  }

  void drive(bool run, double speedLimit) override {
    running_ = run;
    digitalWrite(32, run ? HIGH : LOW);
    ledcWrite(0, static_cast<uint32_t>(1023 * speedLimit));
  }

 private:
  uint16_t ina226Read(uint8_t reg) {
    Wire.beginTransmission(0x40);
    Wire.write(reg);
    Wire.endTransmission(false);
    Wire.requestFrom(0x40, 2);
    return static_cast<uint16_t>(Wire.read() << 8 | Wire.read());
  }
  void ina226Write(uint8_t reg, uint16_t v) {
    Wire.beginTransmission(0x40);
    Wire.write(reg);
    Wire.write(v >> 8);
    Wire.write(v & 0xFF);
    Wire.endTransmission();
  }
  double adcMv(int pin) { return esp_adc_cal_raw_to_voltage(analogRead(pin), &adc_); }
  // The drive's MPPT estimate: a 600 Wp array at 80 % of Voc x Isc scaled from its open-circuit voltage.
  double availableW(double voc) const { return voc < 20 ? 0 : 600 * ((voc - 20) / 62.0); }
  double tachoRpm() { return running_ ? 3600 : 0; }  // from the drive's tacho output on a real installation
  OneWire wire_{4};
  DallasTemperature temps_{&wire_};
  esp_adc_cal_characteristics_t adc_ = {};
  int64_t lastFlowMs_ = 0;
  double lastVoc_ = 0;
  bool running_ = false;
};
