//! Where the reference implementations run: the CPU, an NVIDIA GPU, or whichever answers.

use std::fmt;
use std::str::FromStr;

/// The device type the references run on (candle's), for callers that hold one.
pub use candle_core::Device;

use crate::RunnerError;

/// The device a course author or CI job asks for (`--device cpu|cuda|auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    Cpu,
    Cuda,
    /// CUDA when this binary was built with it and a GPU answers, else the CPU.
    #[default]
    Auto,
}

impl DeviceChoice {
    pub fn parse(s: &str) -> Result<Self, RunnerError> {
        match s {
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda),
            "auto" => Ok(DeviceChoice::Auto),
            _ => Err(RunnerError::UnknownDevice {
                given: s.to_owned(),
            }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Cuda => "cuda",
            DeviceChoice::Auto => "auto",
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = RunnerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeviceChoice::parse(s)
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// True when this binary was built with the `cuda` feature (whether or not a GPU is present).
pub fn cuda_built() -> bool {
    cfg!(feature = "cuda")
}

/// Opens the device `choice` asks for and says which one was used: `Cpu` or `Cuda`, never
/// `Auto`.
///
/// We do not use candle's `Device::cuda_if_available`: when the `cuda` feature is built
/// it goes straight to `new_cuda` and errors on a machine without a GPU instead of falling
/// back, which is exactly the machine (a laptop, a CPU CI runner) `auto` is for.
pub fn select(choice: DeviceChoice) -> Result<(Device, DeviceChoice), RunnerError> {
    match choice {
        DeviceChoice::Cpu => Ok((Device::Cpu, DeviceChoice::Cpu)),
        DeviceChoice::Cuda => open_cuda().map(|d| (d, DeviceChoice::Cuda)),
        DeviceChoice::Auto => match open_cuda() {
            Ok(d) => Ok((d, DeviceChoice::Cuda)),
            // Either not built or no GPU answered: both mean "use the CPU" for `auto`.
            Err(_) => Ok((Device::Cpu, DeviceChoice::Cpu)),
        },
    }
}

fn open_cuda() -> Result<Device, RunnerError> {
    if !cuda_built() {
        return Err(RunnerError::CudaNotBuilt);
    }
    Device::new_cuda(0).map_err(|source| RunnerError::NoGpu { source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_names_and_rejects_others() {
        for choice in [DeviceChoice::Cpu, DeviceChoice::Cuda, DeviceChoice::Auto] {
            assert_eq!(DeviceChoice::parse(choice.name()).ok(), Some(choice));
        }
        assert!(matches!(
            DeviceChoice::parse("gpu"),
            Err(RunnerError::UnknownDevice { given }) if given == "gpu"
        ));
        assert!(DeviceChoice::parse("CPU").is_err());
    }

    #[test]
    fn cpu_is_always_there() {
        let (device, used) = select(DeviceChoice::Cpu).expect("cpu");
        assert!(device.is_cpu());
        assert_eq!(used, DeviceChoice::Cpu);
    }

    #[test]
    fn auto_never_fails_and_reports_what_it_used() {
        let (device, used) = select(DeviceChoice::Auto).expect("auto falls back to the cpu");
        assert_ne!(used, DeviceChoice::Auto);
        assert_eq!(device.is_cuda(), used == DeviceChoice::Cuda);
        if !cuda_built() {
            assert_eq!(used, DeviceChoice::Cpu);
        }
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_says_how_to_rebuild() {
        let err = select(DeviceChoice::Cuda).expect_err("no cuda feature");
        assert!(matches!(err, RunnerError::CudaNotBuilt));
        assert!(err.to_string().contains("--features cuda"), "{err}");
    }

    #[cfg(feature = "cuda")]
    #[test]
    fn cuda_with_the_feature_opens_a_gpu_or_says_none_answered() {
        match select(DeviceChoice::Cuda) {
            Ok((device, used)) => {
                assert!(device.is_cuda());
                assert_eq!(used, DeviceChoice::Cuda);
            }
            Err(err) => assert!(matches!(err, RunnerError::NoGpu { .. }), "{err}"),
        }
    }
}
